{{/* The chart's name, and the release's full name (the default name of everything). */}}
{{- define "fleetfit.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fleetfit.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else if hasPrefix .Release.Name $name }}
{{- $name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fleetfit.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleetfit.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fleetfit.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "fleetfit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "fleetfit.serviceAccountName" -}}
{{- default (include "fleetfit.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{- define "fleetfit.leaderElection" -}}
{{- and .Values.leaderElection.enabled (not .Values.shadow) }}
{{- end }}

{{/*
What the controller reads: every cache it keeps is a list and a watch of one of these
(kube-rs reflectors); it reads nothing with get (controller/tests/chart.rs checks both in the
API server's audit log). Shared by the full ClusterRole and the shadow mode's read-only one;
controller/deploy/shadow-rbac.yaml holds the same rules (the test checks that they agree).
*/}}
{{- define "fleetfit.readRules" -}}
# Pending pods to plan for, bound pods and the nodes they run on.
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [list, watch]
# What takes room on every node, what may not be disrupted, and volume topology.
- apiGroups: [apps]
  resources: [daemonsets]
  verbs: [list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [persistentvolumeclaims, persistentvolumes]
  verbs: [list, watch]
# Storage classes (volume topology) and volume attachments (a node's volumes must detach before
# its instance is terminated).
- apiGroups: [storage.k8s.io]
  resources: [storageclasses, volumeattachments]
  verbs: [list, watch]
# Karpenter's own objects: the NodePools and node classes it plans with, the NodeClaims in flight.
- apiGroups: [karpenter.sh]
  resources: [nodepools, nodeclaims]
  verbs: [list, watch]
- apiGroups: [karpenter.k8s.aws]
  resources: [ec2nodeclasses]
  verbs: [list, watch]
{{- end }}
