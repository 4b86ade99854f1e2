// Command pause is the sandbox ("infra") container of the local node's pods: it holds the pod's
// namespaces open and does nothing else, like Kubernetes' build/pause. Built here (static, no cgo) so
// that containerd's sandbox_image is a local image and the node never pulls from a registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap() // PID 1 of a shared PID namespace adopts orphans: reap them
			continue
		}
		os.Exit(0)
	}
}

func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
