//! Kubernetes objects (YAML or JSON, multi-document, `kind: List`, `kubectl get -o json`) into
//! the [`crate::model`].
