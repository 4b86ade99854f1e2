// loadgen: an open-loop (constant arrival rate) load generator for HTTP/1.1 and gRPC, wrk2-style.
//
// Requests are *scheduled* at start + i/rate whatever the server does, and each latency is measured
// from its scheduled time, so a slow server cannot slow the load down and hide its own queueing
// (coordinated omission). wrk (Debian) is closed-loop and cannot do this; wrk2 is not packaged.
// gRPC uses a pass-through codec with a pre-serialised request, so no generated stubs are needed.
//
//	loadgen -mode http -url http://127.0.0.1:3000/score -body body.json -rate 1000 -duration 10s
//	loadgen -mode http -url .../v2/models/m/infer -body bin.req -content-type application/octet-stream \
//	        -header "Inference-Header-Content-Length: 142" -rate 500   (OIP binary-tensor extension)
//	loadgen -mode grpc -target 127.0.0.1:8001 -method /inference.GRPCInferenceService/ModelInfer -body req.bin ...
//
// Prints one JSON object: counts, status histogram, latency percentiles (ms), achieved rate.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

// headerList collects repeated -header "Name: value" flags.
type headerList [][2]string

func (h *headerList) String() string { return fmt.Sprint(*h) }
func (h *headerList) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q: expected 'Name: value'", v)
	}
	*h = append(*h, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
	return nil
}

type result struct {
	latency time.Duration
	status  string
}

type summary struct {
	Mode          string         `json:"mode"`
	TargetRate    float64        `json:"target_rate"`
	DurationS     float64        `json:"duration_s"`
	Sent          int            `json:"sent"`
	OK            int            `json:"ok"`
	Errors        int            `json:"errors"`
	ErrorRate     float64        `json:"error_rate"`
	Statuses      map[string]int `json:"statuses"`
	AchievedRate  float64        `json:"achieved_rate"`
	P50Ms         float64        `json:"p50_ms"`
	P95Ms         float64        `json:"p95_ms"`
	P99Ms         float64        `json:"p99_ms"`
	MaxMs         float64        `json:"max_ms"`
	DroppedClient int            `json:"dropped_by_client"`
}

func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

func main() {
	mode := flag.String("mode", "http", "http or grpc")
	url := flag.String("url", "", "HTTP URL (POST)")
	target := flag.String("target", "", "gRPC host:port")
	method := flag.String("method", "/inference.GRPCInferenceService/ModelInfer", "gRPC full method")
	bodyPath := flag.String("body", "", "request body file (JSON for http, serialised protobuf for grpc)")
	rate := flag.Float64("rate", 100, "requests per second (open loop)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	timeout := flag.Duration("timeout", 5*time.Second, "per-request timeout")
	maxInFlight := flag.Int("max-in-flight", 8192, "requests outstanding before the client itself drops (counted)")
	contentType := flag.String("content-type", "application/json", "HTTP Content-Type of the body")
	var headers headerList
	flag.Var(&headers, "header", "extra HTTP header 'Name: value' (repeatable), e.g. Inference-Header-Content-Length: 123")
	flag.Parse()

	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var fire func(ctx context.Context) string
	switch *mode {
	case "http":
		client := &http.Client{Timeout: *timeout, Transport: &http.Transport{
			MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 60 * time.Second, DisableCompression: true}}
		fire = func(ctx context.Context) string {
			req, _ := http.NewRequestWithContext(ctx, "POST", *url, bytes.NewReader(body))
			req.Header.Set("Content-Type", *contentType)
			for _, h := range headers {
				req.Header.Set(h[0], h[1])
			}
			resp, err := client.Do(req)
			if err != nil {
				return "transport_error"
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return fmt.Sprint(resp.StatusCode)
		}
	case "grpc":
		encoding.RegisterCodec(rawCodec{})
		conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer conn.Close()
		fire = func(ctx context.Context) string {
			ctx, cancel := context.WithTimeout(ctx, *timeout)
			defer cancel()
			var out []byte
			in := body
			if err := conn.Invoke(ctx, *method, &in, &out); err != nil {
				return status.Code(err).String()
			}
			return "OK"
		}
	default:
		fmt.Fprintln(os.Stderr, "mode must be http or grpc")
		os.Exit(2)
	}

	total := int(*rate * duration.Seconds())
	results := make([]result, 0, total)
	var mu sync.Mutex
	var wg sync.WaitGroup
	inFlight := make(chan struct{}, *maxInFlight)
	dropped := 0
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	for i := 0; i < total; i++ {
		scheduled := start.Add(time.Duration(i) * interval)
		if d := time.Until(scheduled); d > 0 {
			time.Sleep(d)
		}
		select {
		case inFlight <- struct{}{}:
		default:
			dropped++
			continue
		}
		wg.Add(1)
		go func(scheduled time.Time) {
			defer wg.Done()
			st := fire(context.Background())
			lat := time.Since(scheduled) // from the schedule, not the send: includes client-side queueing
			<-inFlight
			mu.Lock()
			results = append(results, result{lat, st})
			mu.Unlock()
		}(scheduled)
	}
	sendSeconds := time.Since(start).Seconds()
	wg.Wait()

	s := summary{Mode: *mode, TargetRate: *rate, DurationS: duration.Seconds(), Statuses: map[string]int{}, DroppedClient: dropped}
	for _, r := range results {
		s.Statuses[r.status]++
		if r.status == "200" || r.status == "OK" {
			s.OK++
		}
	}
	s.Sent = total
	s.Errors = total - s.OK
	s.ErrorRate = float64(s.Errors) / float64(total)
	s.AchievedRate = float64(s.OK) / sendSeconds
	// percentiles over *all* answered requests: an error answered fast must not flatter the tail
	all := make([]time.Duration, 0, len(results))
	for _, r := range results {
		all = append(all, r.latency)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	s.P50Ms, s.P95Ms, s.P99Ms = percentile(all, 0.50), percentile(all, 0.95), percentile(all, 0.99)
	if len(all) > 0 {
		s.MaxMs = float64(all[len(all)-1].Microseconds()) / 1000
	}
	json.NewEncoder(os.Stdout).Encode(s)
}
