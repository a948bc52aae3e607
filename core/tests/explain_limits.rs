//! explain says what limits pods per node, where a guide's arithmetic goes wrong: ten pods of
//! 0.5 CPU and 1 GiB do not fit five to a t3.small, whose 2 GiB leave 1.38Gi allocatable.

use fleetfit::catalog::Catalog;
use fleetfit::explain::{explain, ExplainOptions};
use fleetfit::manifest::parse;

#[test]
fn memory_limits_a_t3_small_to_one_pod_of_one_gib() {
    let text = "
apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: small}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements:
        - {key: node.kubernetes.io/instance-type, operator: In, values: [t3.small]}
        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guide}
spec:
  replicas: 10
  selector: {matchLabels: {app: guide}}
  template:
    metadata: {labels: {app: guide}}
    spec:
      containers: [{name: a, image: a, resources: {requests: {cpu: 500m, memory: 1Gi}}}]
";
    let inventory = parse("guide.yaml", text).expect("valid");
    let catalog = Catalog::aws("us-east-1").expect("catalog");
    let explanation = explain(&inventory, &catalog, &ExplainOptions::default()).expect("explained");
    let cheapest = &explanation.workloads[0].cheapest[0];
    assert_eq!((cheapest.instance_type.as_str(), cheapest.pods_per_node), ("t3.small", 1));
    assert_eq!(cheapest.limited_by.as_deref(), Some("memory: 1 pod of 1Gi per t3.small, 1.38Gi allocatable"));
}
