//! NodePool requirement values checked against the catalog: a pattern or a near miss of an
//! instance-type label value is an error naming the field; a value no type has is a note.

use fleetfit::catalog::Catalog;
use fleetfit::manifest::parse;
use fleetfit::plan::PlanOptions;

fn plan(requirements: &str) -> fleetfit::Result<fleetfit::plan::Plan> {
    let text = format!(
        "apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {{name: guide}}
spec:
  template:
    spec:
      nodeClassRef: {{group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}}
      requirements:
{requirements}
---
apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers: [{{name: a, image: a, resources: {{requests: {{cpu: 500m, memory: 1Gi}}}}}}]
"
    );
    let inventory = parse("guide.yaml", &text)?;
    fleetfit::pack::plan(&inventory, &Catalog::aws("us-east-1")?, &PlanOptions::default())
}

#[test]
fn an_instance_type_pattern_is_an_error_with_the_family_requirement() {
    let err = plan("        - {key: node.kubernetes.io/instance-type, operator: In, values: [\"t3.*\", m5.large]}")
        .expect_err("t3.* matches nothing");
    assert_eq!(
        err.to_string(),
        "NodePool guide: spec.template.spec.requirements[0].values[0]: \"t3.*\" matches no node.kubernetes.io/instance-type: \
         Karpenter v1 compares In and NotIn values literally, not as patterns; for every t3 type write \
         karpenter.k8s.aws/instance-family In [t3]"
    );
}

#[test]
fn a_near_miss_is_an_error_and_an_unknown_value_a_note() {
    let err =
        plan("        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, c7gg]}").expect_err("typo");
    assert_eq!(
        err.to_string(),
        "NodePool guide: spec.template.spec.requirements[0].values[1]: no instance type has karpenter.k8s.aws/instance-family \"c7gg\"; did you mean \"c7g\"?"
    );
    let planned =
        plan("        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5, zz99]}").expect("a note");
    assert!(
        planned.notes.iter().any(|n| n == "NodePool guide: spec.template.spec.requirements[0].values[1]: no instance type in this catalog has karpenter.k8s.aws/instance-family \"zz99\""),
        "{:#?}",
        planned.notes
    );
    assert_eq!(planned.nodes.len(), 1);
}

#[test]
fn capacity_types_assumed_are_said() {
    let planned = plan("        - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5]}").expect("plan");
    assert!(
        planned.notes.iter().any(|n| n.starts_with("NodePool guide does not restrict karpenter.sh/capacity-type: as in Karpenter, every capacity type is allowed")),
        "{:#?}",
        planned.notes
    );
    let on_demand =
        plan("        - {key: karpenter.sh/capacity-type, operator: In, values: [on-demand]}").expect("plan");
    assert!(!on_demand.notes.iter().any(|n| n.contains("does not restrict")), "{:#?}", on_demand.notes);
}
