{{/*
Labels of every object: the kustomize tree's app.kubernetes.io/part-of, and Helm's own. The
comparison with kustomize (tools/internal/helmchart) ignores exactly the four Helm ones.
*/}}
{{- define "argocd-monitor.labels" -}}
app.kubernetes.io/part-of: argocd-monitor
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* The image, by digest when one is set. */}}
{{- define "argocd-monitor.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{/* Slack buttons on: checked once here, so every template agrees. */}}
{{- define "argocd-monitor.actions" -}}
{{- if and .Values.bridge.enabled .Values.bridge.actions.enabled -}}
{{- if ne .Values.bridge.slack.mode "bot" -}}
{{- fail "bridge.actions.enabled needs bridge.slack.mode: bot (the buttons edit bot messages)" -}}
{{- end -}}
true
{{- end -}}
{{- end }}

{{/* The restricted security context both containers run with (the image's nonroot user). */}}
{{- define "argocd-monitor.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "argocd-monitor.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Pod scheduling and extras shared by both Deployments; the argument is the component's values.
*/}}
{{- define "argocd-monitor.podExtras" -}}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* checksum/config: pods restart when the ConfigMap their env reads changes. */}}
{{- define "argocd-monitor.podAnnotations" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}
