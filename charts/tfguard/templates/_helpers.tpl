{{/* Names, labels and image references shared by every template. */}}

{{- define "tfguard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* RELEASE-tfguard, or just RELEASE when the release name already says tfguard. */}}
{{- define "tfguard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tfguard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tfguard.labels" -}}
helm.sh/chart: {{ include "tfguard.chart" . }}
app.kubernetes.io/name: {{ include "tfguard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tfguard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: include with (dict "ctx" . "component" "webhook"). */}}
{{- define "tfguard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tfguard.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tfguard.componentLabels" -}}
{{ include "tfguard.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* repository:tag or repository@digest; include with (dict "image" .Values.image "ctx" .). */}}
{{- define "tfguard.imageRef" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{- define "tfguard.image" -}}
{{ include "tfguard.imageRef" (dict "image" .Values.image "ctx" .) }}
{{- end }}

{{- define "tfguard.probeImage" -}}
{{ include "tfguard.imageRef" (dict "image" .Values.probe.image "ctx" .) }}
{{- end }}

{{- define "tfguard.webhook.fullname" -}}
{{- printf "%s-webhook" (include "tfguard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tfguard.operator.fullname" -}}
{{- printf "%s-operator" (include "tfguard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tfguard.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (include "tfguard.webhook.fullname" .) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tfguard.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "tfguard.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tfguard.webhook.certSecretName" -}}
{{- default (printf "%s-tls" (include "tfguard.webhook.fullname" .)) .Values.webhook.certificate.secretName }}
{{- end }}

{{/* True ("true") when the webhook runs outside the cluster (webhook.external.url set). */}}
{{- define "tfguard.webhook.external" -}}
{{- if .Values.webhook.external.url }}true{{ end }}
{{- end }}

{{/* The name of both webhook configurations (cluster-scoped: one per release). */}}
{{- define "tfguard.webhookConfigurationName" -}}
{{- include "tfguard.fullname" . }}
{{- end }}

{{/* Namespaces never sent to the webhook: kube-system, the release namespace, and the user's list. */}}
{{- define "tfguard.excludedNamespaces" -}}
{{- $excluded := list "kube-system" .Release.Namespace }}
{{- range .Values.webhook.excludedNamespaces }}
{{- $excluded = append $excluded . }}
{{- end }}
{{- toYaml (uniq $excluded) }}
{{- end }}

{{/*
Where tfguard looks and what it injects (tfguard.settings.Scope and Injection): the same variables
for the webhook and the operator, so neither checks nor annotates a namespace the other leaves
alone, both trust the same namespaces' observations, and the operator takes probe reports only from
the probe the webhook injects.
*/}}
{{- define "tfguard.scopeEnv" -}}
- name: TFGUARD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: TFGUARD_EXCLUDED_NAMESPACES
  value: {{ include "tfguard.excludedNamespaces" . | fromYamlArray | join " " | quote }}
- name: TFGUARD_TRUSTED_NAMESPACES
  value: {{ .Values.trust.namespaces | join " " | quote }}
- name: TFGUARD_PROBE_IMAGE
  value: {{ include "tfguard.probeImage" . | quote }}
{{- end }}

{{- define "tfguard.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "tfguard.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{/* ---- pieces of the webhook configurations (webhook-configurations.yaml) ---- */}}

{{/* Labels (the operator finds the configurations by tfguard.io/webhook-configuration) and annotations. */}}
{{- define "tfguard.webhook.metadata" -}}
labels:
  {{- include "tfguard.labels" . | nindent 2 }}
  tfguard.io/webhook-configuration: {{ include "tfguard.webhookConfigurationName" . }}
{{- if and (not .Values.webhook.external.url) .Values.webhook.certificate.certManagerInjectFrom }}
annotations:
  cert-manager.io/inject-ca-from: {{ .Values.webhook.certificate.certManagerInjectFrom }}
{{- end }}
{{- end }}

{{/* namespaceSelector and objectSelector of the entry for one mode: (dict "ctx" . "mode" M "default" BOOL). */}}
{{- define "tfguard.webhook.selectors" -}}
{{- $ := .ctx -}}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- include "tfguard.excludedNamespaces" $ | nindent 8 }}
    {{- if .default }}
    - key: tfguard.io/mode
      operator: NotIn
      values: [enforce, warn, audit]
    {{- else }}
    - key: tfguard.io/mode
      operator: In
      values: [{{ .mode }}]
    {{- end }}
    {{- with $.Values.webhook.namespaceSelector.matchExpressions }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $.Values.webhook.namespaceSelector.matchLabels }}
  matchLabels:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- with $.Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* clientConfig for one path: (dict "ctx" . "path" "/validate/warn" "caBundle" B64). */}}
{{- define "tfguard.webhook.clientConfig" -}}
{{- $ := .ctx -}}
clientConfig:
  {{- if $.Values.webhook.external.url }}
  url: {{ printf "%s%s" (trimSuffix "/" $.Values.webhook.external.url) .path | quote }}
  {{- else }}
  service:
    name: {{ include "tfguard.webhook.fullname" $ }}
    namespace: {{ $.Release.Namespace }}
    path: {{ .path | quote }}
    port: 443
  {{- end }}
  {{- with .caBundle }}
  caBundle: {{ . }}
  {{- end }}
{{- end }}

{{/* matchConditions from a list of (dict "name" N "expression" CEL); nothing for an empty list. */}}
{{- define "tfguard.webhook.matchConditions" -}}
{{- if . -}}
matchConditions:
  {{- range . }}
  - name: {{ .name }}
    expression: {{ .expression | quote }}
  {{- end }}
{{- end }}
{{- end }}
