//! What the EC2 tests make in moto before a launch: a VPC with a subnet per zone, a security
//! group and an AMI, all tagged `karpenter.sh/discovery: test` (the tests' node classes select
//! them by that tag).

use std::collections::BTreeMap;

/// What [`network`] made.
pub struct Network {
    pub vpc: String,
    /// Zone → subnet ID.
    pub subnets: BTreeMap<String, String>,
    pub ami: String,
}

/// A VPC (10.0.0.0/16) with a subnet of `/bits` per zone, a security group and an AMI.
pub async fn network(ec2: &aws_sdk_ec2::Client, zones: &[&str], bits: u32) -> Network {
    let tag = |id: &str| {
        ec2.create_tags()
            .resources(id)
            .tags(aws_sdk_ec2::types::Tag::builder().key("karpenter.sh/discovery").value("test").build())
            .send()
    };
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = BTreeMap::new();
    for (i, zone) in zones.iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.0.{}.0/{bits}", i << (24 - bits)))
            .availability_zone(*zone)
            .send()
            .await
            .unwrap();
        let id = s.subnet().unwrap().subnet_id().unwrap().to_string();
        tag(&id).await.unwrap();
        subnets.insert(zone.to_string(), id);
    }
    let sg = ec2.create_security_group().group_name("nodes").description("nodes").vpc_id(&vpc).send().await.unwrap();
    tag(sg.group_id().unwrap()).await.unwrap();
    // An AMI of our own (moto's registered images have no architecture; one made from an
    // instance of moto's stock x86_64 images has).
    let stock = ec2
        .describe_images()
        .owners("amazon")
        .filters(aws_sdk_ec2::types::Filter::builder().name("architecture").values("x86_64").build())
        .send()
        .await
        .unwrap();
    let stock = stock.images().iter().find_map(|i| i.image_id()).expect("moto's stock images").to_string();
    let builder = ec2.run_instances().image_id(stock).min_count(1).max_count(1).send().await.unwrap();
    let builder = builder.instances()[0].instance_id().unwrap().to_string();
    let image = ec2.create_image().instance_id(&builder).name("fleetfit-test-al2023").send().await.unwrap();
    ec2.terminate_instances().instance_ids(builder).send().await.unwrap();
    let ami = image.image_id().unwrap().to_string();
    tag(&ami).await.unwrap();
    Network { vpc, subnets, ami }
}
