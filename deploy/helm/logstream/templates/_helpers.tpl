{{/* Chart name. */}}
{{- define "logstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name: release name, plus the chart name unless the release name contains it.
Truncated to 52 characters: the StatefulSet's pods add "-N" and the controller-revision-hash label adds more.
*/}}
{{- define "logstream.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "logstream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every object; pass (dict "root" $ "component" "node"). */}}
{{- define "logstream.labels" -}}
helm.sh/chart: {{ include "logstream.chart" .root }}
{{ include "logstream.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: logstream
{{- end -}}

{{- define "logstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "logstream.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Object names. */}}
{{- define "logstream.headlessName" -}}{{ include "logstream.fullname" . }}-headless{{- end -}}
{{- define "logstream.clientName" -}}{{ include "logstream.fullname" . }}{{- end -}}
{{- define "logstream.redisName" -}}{{ include "logstream.fullname" . }}-redis{{- end -}}
{{- define "logstream.webName" -}}{{ include "logstream.fullname" . }}-web{{- end -}}
{{- define "logstream.securitySecretName" -}}
{{- .Values.security.existingSecret | default (printf "%s-security" (include "logstream.fullname" .)) -}}
{{- end -}}

{{- define "logstream.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "logstream.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Images: tag defaults to the chart's appVersion. */}}
{{- define "logstream.nodeImage" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- define "logstream.webImage" -}}
{{- printf "%s:%s" .Values.web.image.repository (.Values.web.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
Most nodes that may be down at once so that every partition keeps a quorum of its RF replicas:
RF - (floor(RF/2)+1) = ceil(RF/2) - 1. Any two pods may share a partition, so it does not depend on replicas.
*/}}
{{- define "logstream.quorumSafeMaxUnavailable" -}}
{{- $rf := int .Values.ring.replicationFactor -}}
{{- sub (div (add $rf 1) 2) 1 -}}
{{- end -}}

{{- define "logstream.pdbMaxUnavailable" -}}
{{- $safe := int (include "logstream.quorumSafeMaxUnavailable" .) -}}
{{- $set := .Values.podDisruptionBudget.maxUnavailable -}}
{{- if kindIs "invalid" $set -}}
{{- $safe -}}
{{- else if gt (int $set) $safe -}}
{{- fail (printf "podDisruptionBudget.maxUnavailable=%d would let a quorum break at replicationFactor %d (at most %d)" (int $set) (int .Values.ring.replicationFactor) $safe) -}}
{{- else -}}
{{- int $set -}}
{{- end -}}
{{- end -}}

{{/* Seconds the .NET host may take to stop: the grace period minus the preStop sleep minus a 5 s margin. */}}
{{- define "logstream.hostShutdownSeconds" -}}
{{- max 5 (sub (sub (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) 5) -}}
{{- end -}}

{{/* Cross-field checks the schema cannot say clearly. Rendered (empty) by the StatefulSet. */}}
{{- define "logstream.validate" -}}
{{- if gt (int .Values.ring.replicationFactor) (int .Values.replicas) -}}
{{- fail (printf "ring.replicationFactor (%d) must not exceed replicas (%d): every partition needs that many distinct nodes" (int .Values.ring.replicationFactor) (int .Values.replicas)) -}}
{{- end -}}
{{- if and (not .Values.redis.enabled) (not .Values.redis.external.connectionString) (not .Values.redis.external.existingSecret) -}}
{{- fail "redis.enabled=false needs redis.external.connectionString or redis.external.existingSecret (the membership Redis)" -}}
{{- end -}}
{{- if and .Values.redis.enabled (or .Values.redis.external.connectionString .Values.redis.external.existingSecret) -}}
{{- fail "redis.external.* is set while redis.enabled=true: set redis.enabled=false to use an external Redis" -}}
{{- end -}}
{{- if and .Values.security.existingSecret (or .Values.security.clusterSecret .Values.security.apiKeys) -}}
{{- fail "security.existingSecret is set: put the cluster secret and API keys in that Secret (security.existingSecretKeys), not in security.clusterSecret/apiKeys" -}}
{{- end -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (add (int .Values.preStopSleepSeconds) 10) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds (%d) by more than 10 s: the node needs time to leave membership and flush" (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) -}}
{{- end -}}
{{- end -}}

{{/*
A generated secret value that survives upgrades: the given value, else the one already stored in the Secret
(lookup; empty under `helm template`), else a new random one.
Pass (dict "root" $ "secret" NAME "key" KEY "value" GIVEN).
*/}}
{{- define "logstream.secretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret -}}
{{- $data := dict -}}
{{- if and $existing $existing.data -}}{{- $data = $existing.data -}}{{- end -}}
{{- if .value -}}
{{- .value -}}
{{- else if hasKey $data .key -}}
{{- index $data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 40 -}}
{{- end -}}
{{- end -}}

{{/* Environment of the membership Redis connection (ConnectionStrings__redis), secrets referenced only. */}}
{{- define "logstream.redisEnv" -}}
{{- if .Values.redis.enabled }}
{{- $host := printf "%s:6379" (include "logstream.redisName" .) }}
{{- if .Values.redis.auth.enabled }}
{{- $secret := include "logstream.redisName" . }}
{{- $key := "redis-password" }}
{{- if .Values.redis.auth.existingSecret }}
{{- $secret = .Values.redis.auth.existingSecret }}
{{- $key = .Values.redis.auth.existingSecretPasswordKey }}
{{- end }}
# The kubelet expands $(REDIS_PASSWORD): the pod spec holds only the reference.
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
- name: ConnectionStrings__redis
  value: {{ printf "%s,password=$(REDIS_PASSWORD)" $host | quote }}
{{- else }}
- name: ConnectionStrings__redis
  value: {{ $host | quote }}
{{- end }}
{{- else }}
{{- $secret := include "logstream.redisName" . }}
{{- $key := "redis-connection-string" }}
{{- if .Values.redis.external.existingSecret }}
{{- $secret = .Values.redis.external.existingSecret }}
{{- $key = .Values.redis.external.existingSecretKey }}
{{- end }}
- name: ConnectionStrings__redis
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- end -}}

{{/*
Keys, inside the security Secret, of the public API keys, in order, as a JSON list (use with fromJsonArray):
existingSecretKeys.apiKeys with an existing Secret, else api-key-0..n for the given security.apiKeys.
*/}}
{{- define "logstream.apiKeyNames" -}}
{{- if .Values.security.existingSecret -}}
{{- .Values.security.existingSecretKeys.apiKeys | toJson -}}
{{- else -}}
{{- $names := list -}}
{{- range $i, $_ := .Values.security.apiKeys -}}
{{- $names = append $names (printf "api-key-%d" $i) -}}
{{- end -}}
{{- $names | toJson -}}
{{- end -}}
{{- end -}}
