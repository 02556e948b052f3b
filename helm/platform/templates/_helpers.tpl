{{/* The standard labels of every object: app.kubernetes.io/* */}}
{{- define "platform.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: platform
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* What a Service, a PDB or a NetworkPolicy selects a workload's pods by. */}}
{{- define "platform.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Pod Security Standards "restricted": non-root, RuntimeDefault seccomp. */}}
{{- define "platform.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 1000 }}
runAsGroup: {{ .gid | default 1000 }}
fsGroup: {{ .gid | default 1000 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Every container: no privilege escalation, no capabilities, read-only root filesystem. */}}
{{- define "platform.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{- define "platform.image" -}}
{{- $repo := .root.Values.image.repository -}}
{{- if .root.Values.image.registry }}{{ $repo = printf "%s/%s" .root.Values.image.registry $repo }}{{ end -}}
{{ printf "%s/%s:%s" $repo .name .root.Values.image.tag }}
{{- end }}
