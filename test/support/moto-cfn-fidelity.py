"""moto's server, with two gaps of its CloudFormation closed that the Vaultra stack runs into.

- moto (5.1 and 5.2) deploys AWS::SecretsManager::Secret as nothing: every `Ref` to it becomes
  null, and the policies that name it fail with "Policy statement must contain resources". Here
  the secret is created in moto's own Secrets Manager (SecretString, or a value made as
  GenerateSecretString describes).
- moto creates every AWS::KMS::Key as a symmetric encryption key, whatever its KeySpec and
  KeyUsage (the stack's signing key, ECC_NIST_P256 SIGN_VERIFY, would sign nothing), and keeps
  its policy as an object that breaks DescribeKey. Here the key gets the spec and usage the
  template asks for, and its policy as JSON text.
- moto registers an AWS::ECS::TaskDefinition with its family, containers, volumes and memory
  only: no awsvpc network mode (so RunTask checks none of its subnets and security groups), no
  CPU, Fargate compatibility, platform or roles. Here it gets them all.
- moto creates an AWS::EC2::VPC without its EnableDnsHostnames/EnableDnsSupport, and its RunTask
  of an awsvpc task in such a VPC then fails (an AttributeError on the network interface's
  private DNS name, an HTTP 500). Here the VPC keeps both settings.

Everything else is moto unchanged. Run like moto_server: `python3 moto-cfn-fidelity.py -H
127.0.0.1 -p <port>`.
"""
import json
import sys
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models.vpcs import VPC
from moto.ecs.models import TaskDefinition, ecs_backends
from moto.kms.models import Key, kms_backends
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.utils import random_password
from moto.server import main


class CloudFormationSecret(CloudFormationModel):
    # moto files every model under the service its module names.
    __module__ = "moto.secretsmanager.cloudformation"

    def __init__(self, arn: str) -> None:
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        # Ref of AWS::SecretsManager::Secret is its ARN.
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CloudFormationSecret":
        properties = cloudformation_json.get("Properties", {})
        backend = secretsmanager_backends[account_id][region_name]
        backend.create_secret(
            name=resource_name,
            secret_string=properties.get("SecretString") or generated_value(properties.get("GenerateSecretString")),
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags", []),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(backend.secrets[resource_name].arn)


def generated_value(spec: Any) -> str:
    """A value as GenerateSecretString describes it (AWS's defaults: 32 characters of every kind)."""
    spec = spec or {}
    return random_password(
        int(spec.get("PasswordLength", 32)),
        spec.get("ExcludeCharacters", ""),
        bool(spec.get("ExcludeNumbers", False)),
        bool(spec.get("ExcludePunctuation", False)),
        bool(spec.get("ExcludeUppercase", False)),
        bool(spec.get("ExcludeLowercase", False)),
        bool(spec.get("IncludeSpace", False)),
        bool(spec.get("RequireEachIncludedType", True)),
    )


def create_key_from_cloudformation(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Key:
    properties = cloudformation_json["Properties"]
    # The template's policy is a JSON object; moto keeps the text KMS APIs return (DescribeKey
    # fails with moto's own handler on an object).
    policy = properties["KeyPolicy"]
    key = kms_backends[account_id][region_name].create_key(
        policy=policy if isinstance(policy, str) else json.dumps(policy),
        key_usage=properties.get("KeyUsage", "ENCRYPT_DECRYPT"),
        key_spec=properties.get("KeySpec", "SYMMETRIC_DEFAULT"),
        description=properties.get("Description"),
        tags=properties.get("Tags", []),
    )
    key.key_rotation_status = properties.get("EnableKeyRotation", False)
    key.enabled = properties.get("Enabled", True)
    return key


Key.create_from_cloudformation_json = classmethod(create_key_from_cloudformation)  # type: ignore[method-assign,assignment]


def register_task_definition_from_cloudformation(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> TaskDefinition:
    properties = cloudformation_json["Properties"]
    camel = lambda name: remap_nested_keys(properties.get(name), pascal_to_camelcase)  # noqa: E731
    return ecs_backends[account_id][region_name].register_task_definition(
        family=properties["Family"],
        container_definitions=camel("ContainerDefinitions") or [],
        volumes=camel("Volumes") or [],
        network_mode=properties.get("NetworkMode"),
        requires_compatibilities=properties.get("RequiresCompatibilities"),
        cpu=properties.get("Cpu"),
        memory=properties.get("Memory"),
        task_role_arn=properties.get("TaskRoleArn"),
        execution_role_arn=properties.get("ExecutionRoleArn"),
        runtime_platform=camel("RuntimePlatform"),
    )


TaskDefinition.create_from_cloudformation_json = classmethod(register_task_definition_from_cloudformation)  # type: ignore[method-assign,assignment]


create_vpc_without_dns_settings = VPC.create_from_cloudformation_json


def create_vpc_from_cloudformation(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> VPC:
    vpc = create_vpc_without_dns_settings(resource_name, cloudformation_json, account_id, region_name, **kwargs)
    properties = cloudformation_json["Properties"]
    vpc.enable_dns_hostnames = bool(properties.get("EnableDnsHostnames", False))
    vpc.enable_dns_support = bool(properties.get("EnableDnsSupport", True))
    return vpc


VPC.create_from_cloudformation_json = classmethod(create_vpc_from_cloudformation)  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    main(sys.argv[1:])
