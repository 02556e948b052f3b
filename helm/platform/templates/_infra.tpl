{{/*
  The NetworkPolicy of an infrastructure component: ingress from the services whose egressTo
  names it (and Prometheus where it exposes metrics), egress only to DNS and the names in `to`.
  Args: root, name, port, extraFrom (list of names), to (list of names)
*/}}
{{- define "platform.infraPolicy" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $from := list }}
{{- range $svcName, $svc := $root.Values.services }}
{{- if has $name $svc.egressTo }}{{ $from = append $from $svcName }}{{ end }}
{{- end }}
{{- $from = concat $from (.extraFrom | default list) }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $name }}
  labels: {{- include "platform.labels" (dict "root" $root "name" $name "component" "infrastructure") | nindent 4 }}
spec:
  podSelector:
    matchLabels: {{- include "platform.selector" (dict "root" $root "name" $name) | nindent 6 }}
  policyTypes: [Ingress, Egress]
  {{- if or $from .external }}
  ingress:
    {{- if $from }}
    - from:
        {{- range $from }}
        - podSelector:
            matchLabels: {{- include "platform.selector" (dict "root" $root "name" .) | nindent 14 }}
        {{- end }}
    {{- end }}
    {{- if .external }}
    - {}
    {{- end }}
  {{- else }}
  ingress: []
  {{- end }}
  egress:
    {{- range .to | default list }}
    - to:
        - podSelector:
            matchLabels: {{- include "platform.selector" (dict "root" $root "name" .) | nindent 14 }}
    {{- end }}
    - ports:
        - { port: 53, protocol: UDP }
        - { port: 53, protocol: TCP }
{{- end }}

{{/* Startup, liveness and readiness probes from one handler. Args: handler (yaml), slow (bool) */}}
{{- define "platform.infraProbes" -}}
startupProbe:
  {{- .handler | nindent 2 }}
  periodSeconds: 3
  failureThreshold: {{ if .slow }}60{{ else }}20{{ end }}
  timeoutSeconds: 5
livenessProbe:
  {{- .handler | nindent 2 }}
  periodSeconds: 15
  failureThreshold: 4
  timeoutSeconds: 5
readinessProbe:
  {{- .handler | nindent 2 }}
  periodSeconds: 5
  failureThreshold: 2
  timeoutSeconds: 5
{{- end }}
