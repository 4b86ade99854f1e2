{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "lfd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified release name: <release>-<chart> unless the release already contains the chart name. */}}
{{- define "lfd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "lfd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "lfd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: live-fraud-detector
{{- end -}}

{{/* Labels of one component's objects: include with (dict "ctx" . "component" "operator"). */}}
{{- define "lfd.componentLabels" -}}
{{ include "lfd.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" . "component" "operator"). */}}
{{- define "lfd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lfd.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
An image reference from one image block {repository, tag, digest}: repository@digest when a digest is set
(immutable: what was scanned is what runs), else repository:tag with the tag defaulting to the appVersion.
*/}}
{{- define "lfd.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets of every pod spec (nothing when the list is empty). */}}
{{- define "lfd.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level security context of our own pods: non-root, default seccomp profile. */}}
{{- define "lfd.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  fsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Container-level security context: no privilege escalation, read-only root, no capabilities. */}}
{{- define "lfd.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  privileged: false
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* The MLflow URI the operator uses: the explicit value, else the chart's own MLflow Service. */}}
{{- define "lfd.mlflowUri" -}}
{{- if .Values.operator.mlflowTrackingUri -}}
{{- .Values.operator.mlflowTrackingUri -}}
{{- else if .Values.mlflow.enabled -}}
{{- printf "http://%s-mlflow.%s.svc:%v" (include "lfd.fullname" .) .Release.Namespace .Values.mlflow.port -}}
{{- end -}}
{{- end -}}

{{/* The FraudModel `helm test` scores through (empty when there is none). */}}
{{- define "lfd.testFraudModel" -}}
{{- if .Values.tests.fraudModelName -}}
{{- .Values.tests.fraudModelName -}}
{{- else if .Values.fraudModels -}}
{{- (first .Values.fraudModels).name -}}
{{- end -}}
{{- end -}}

{{/* The FraudModel `lfd monitor` points at a retrained @challenger (empty: retraining off or no FraudModel). */}}
{{- define "lfd.monitorFraudModel" -}}
{{- if .Values.monitor.retrain.enabled -}}
{{- if .Values.monitor.retrain.fraudModelName -}}
{{- .Values.monitor.retrain.fraudModelName -}}
{{- else if .Values.fraudModels -}}
{{- (first .Values.fraudModels).name -}}
{{- end -}}
{{- end -}}
{{- end -}}
