"""AWS Batch for one workflow: compute environments, job queues and one job definition per task.

Queues share the workflow's compute environments (one per kind of capacity: Fargate Spot, Fargate,
EC2 Spot, EC2) because Batch only orders queues by ``priority`` among queues attached to the same
compute environment: with a private environment per queue, priorities would mean nothing. Each
queue lists the environments in its ``compute`` order, so Spot is tried first and on-demand is the
fallback. A consequence: ``Queue.max_vcpus`` becomes the shared environment's ``maxvCpus`` (the
largest of the queues using it), not a per-queue cap.

    >>> from orchestrator import model
    >>> queue_of(model.Task(name="t", job=model.BatchJob(image="x")), model.Workflow(name="w", tasks=()))
    'default'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from orchestrator import model
from orchestrator.cdk import iam as policies
from orchestrator.compiler.tasks import DEFAULT_QUEUE
from orchestrator.compiler.tasks import job_definition as compiled_job_definition
from orchestrator.errors import Problem
from orchestrator.limits import FARGATE_MEMORY

FARGATE_KINDS = frozenset({model.Compute.FARGATE_SPOT, model.Compute.FARGATE})

ComputeEnvironment = batch.FargateComputeEnvironment | batch.ManagedEc2EcsComputeEnvironment


def queue_of(task: model.Task, wf: model.Workflow) -> str:
    """The queue a Batch-run task is submitted to (the compiler's rule, so the ARNs line up)."""
    job = task.job
    queue = job.queue if isinstance(job, model.BatchJob | model.PythonTask) else None
    return queue or wf.defaults.queue or DEFAULT_QUEUE


def batch_tasks(wf: model.Workflow) -> list[model.Task]:
    """Tasks that run on Batch: Batch jobs and Python tasks longer than Lambda allows."""
    return [t for t in wf.tasks if t.runs_on == "batch"]


def queues_of(wf: model.Workflow) -> list[model.Queue]:
    """Declared queues, plus ``default`` when a task uses it without it being declared."""
    declared = {q.name: q for q in wf.queues}
    used = [queue_of(t, wf) for t in batch_tasks(wf)]
    if DEFAULT_QUEUE in used and DEFAULT_QUEUE not in declared:
        declared[DEFAULT_QUEUE] = model.Queue(name=DEFAULT_QUEUE)
    return list(declared.values())


def image_of(task: model.Task, wf: model.Workflow) -> str | None:
    job = task.job
    if isinstance(job, model.BatchJob):
        return job.image
    if isinstance(job, model.PythonTask):
        return job.image or wf.defaults.image
    return None


def platform_of(task: model.Task) -> model.Platform:
    return task.job.platform if isinstance(task.job, model.BatchJob) else model.Platform.FARGATE


def _resources(task: model.Task) -> tuple[float, int]:
    job = task.job
    assert isinstance(job, model.BatchJob | model.PythonTask)
    return float(job.vcpus), job.memory


def problems(wf: model.Workflow) -> list[Problem]:
    """What would make Batch reject the stack, found before synthesis, every one of them."""
    found: list[Problem] = []
    queues = {q.name: q for q in queues_of(wf)}
    for queue in queues.values():
        kinds = {kind in FARGATE_KINDS for kind in queue.compute}
        if len(kinds) > 1:
            found.append(Problem(
                where=f"queue '{queue.name}' field 'compute'",
                message=f"mixes Fargate and EC2 capacity ({', '.join(queue.compute)}); a Batch job queue "
                "takes compute environments of one kind only",
                fix="compute: [FARGATE_SPOT, FARGATE]  (or [SPOT, EC2] in a separate queue)",
            ))
    for task in batch_tasks(wf):
        where = f"task '{task.name}'"
        name = queue_of(task, wf)
        target = queues.get(name)
        if target is None:
            found.append(Problem(where=f"{where} field 'queue'", message=f"names queue '{name}', which is not declared",
                                 fix=f"queues: [{{name: {name}}}]"))
        elif target.compute and (platform_of(task) is model.Platform.FARGATE) != (target.compute[0] in FARGATE_KINDS):
            found.append(Problem(
                where=f"{where} field 'platform'",
                message=f"is {platform_of(task)} but queue '{name}' runs on {', '.join(target.compute)}",
                fix="put the task in a queue whose compute matches its platform",
            ))
        if image_of(task, wf) is None:
            found.append(Problem(where=f"{where} field 'image'",
                                 message="runs on Batch (its timeout is over 15 minutes) but has no image",
                                 fix="give the task image=... or the workflow defaults: {image: ...}"))
        vcpus, memory = _resources(task)
        if platform_of(task) is model.Platform.FARGATE and memory not in FARGATE_MEMORY.get(vcpus, ()):
            allowed = FARGATE_MEMORY.get(vcpus)
            fix = (f"memory: one of {', '.join(map(str, allowed))}" if allowed
                   else f"vcpus: one of {', '.join(f'{v:g}' for v in FARGATE_MEMORY)}")
            found.append(Problem(where=f"{where} fields 'vcpus', 'memory'",
                                 message=f"Fargate has no size of {vcpus:g} vCPU with {memory} MiB", fix=fix))
        job = task.job
        if isinstance(job, model.BatchJob):
            for variable, value_from in job.secrets.items():
                try:
                    policies.secret_resource(value_from)
                except ValueError as error:
                    found.append(Problem(where=f"{where} field 'secrets.{variable}'", message=str(error)))
    return found


class BatchResources(Construct):
    """Compute environments, queues (``queues[name]``) and job definitions (``job_definitions[task]``)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        workflow: model.Workflow,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        assign_public_ip: bool,
        state_machine_names: Sequence[str],
        log_retention: logs.RetentionDays,
        key: kms.IKey,
        project_root: Path | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.workflow = workflow
        # Build contexts (a task's ``build``) are relative to the project directory.
        self.project_root = project_root or Path.cwd()
        self.queues: dict[str, batch.JobQueue] = {}
        self.job_definitions: dict[str, batch.EcsJobDefinition] = {}
        self.compute_environments: dict[model.Compute, ComputeEnvironment] = {}
        queues = queues_of(workflow)
        self._compute(queues, vpc, subnets)
        for queue in queues:
            self.queues[queue.name] = batch.JobQueue(
                self,
                f"Queue-{queue.name}",
                priority=queue.priority,
                compute_environments=[
                    batch.OrderedComputeEnvironment(compute_environment=self.compute_environments[kind], order=i)
                    for i, kind in enumerate(queue.compute, start=1)
                ],
            )
        tasks = batch_tasks(workflow)
        # One log group for the workflow's jobs, instead of Batch's shared /aws/batch/job, so
        # retention is set and execution roles can write to exactly this group.
        self.log_group = (
            logs.LogGroup(self, "JobLogs", retention=log_retention, encryption_key=key) if tasks else None
        )
        for task in tasks:
            self.job_definitions[task.name] = self._job_definition(
                task, assign_public_ip=assign_public_ip, state_machine_names=state_machine_names
            )

    def _compute(self, queues: Iterable[model.Queue], vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> None:
        max_vcpus: dict[model.Compute, int] = {}
        for queue in queues:
            for kind in queue.compute:
                max_vcpus[kind] = max(max_vcpus.get(kind, 0), queue.max_vcpus)
        for kind, vcpus in max_vcpus.items():
            spot = kind in (model.Compute.FARGATE_SPOT, model.Compute.SPOT)
            environment: ComputeEnvironment
            if kind in FARGATE_KINDS:
                environment = batch.FargateComputeEnvironment(
                    self, f"Compute-{kind}", vpc=vpc, vpc_subnets=subnets, spot=spot, maxv_cpus=vcpus
                )
            else:
                environment = batch.ManagedEc2EcsComputeEnvironment(
                    self, f"Compute-{kind}", vpc=vpc, vpc_subnets=subnets, spot=spot, maxv_cpus=vcpus,
                    minv_cpus=0,
                )
            self.compute_environments[kind] = environment

    def _job_definition(
        self, task: model.Task, *, assign_public_ip: bool, state_machine_names: Sequence[str]
    ) -> batch.EcsJobDefinition:
        wf = self.workflow
        job = task.job
        assert isinstance(job, model.BatchJob | model.PythonTask)
        scope = Construct(self, f"Job-{task.name}")
        image = image_of(task, wf)
        assert image is not None  # problems() reported it
        secrets: Mapping[str, str] = job.secrets if isinstance(job, model.BatchJob) else {}

        execution_role = policies.service_role(
            scope, "ExecutionRole", "ecs-tasks.amazonaws.com", f"Pulls the image and reads secrets of {task.name}"
        )
        pulls = [] if isinstance(job, model.BatchJob) and job.build is not None else policies.ecr_pull_statements(image)
        for grant in pulls + policies.secret_statements(secrets):
            execution_role.add_to_policy(grant)

        job_statements = policies.task_statements(job.permissions)
        if isinstance(job, model.PythonTask):
            # orchestrator.batch_entry reads the execution input with DescribeExecution (ECS caps
            # environment overrides at 8 KiB, so the input is not passed in the environment).
            job_statements.append(policies.statement(
                ["states:DescribeExecution"],
                [policies.execution_arn(scope, name) for name in state_machine_names],
            ))
        job_role: iam.Role | None = None
        if job_statements:
            job_role = policies.service_role(scope, "JobRole", "ecs-tasks.amazonaws.com", f"Permissions of {task.name}")
            for grant in job_statements:
                job_role.add_to_policy(grant)

        vcpus, memory = _resources(task)
        # Everything the compiled Task state leaves to the job definition (compiler.tasks).
        settings = compiled_job_definition(task, wf)
        environment = dict(settings.environment)
        assert self.log_group is not None
        logging = ecs.LogDriver.aws_logs(stream_prefix=_stream_prefix(task.name), log_group=self.log_group)
        build = job.build if isinstance(job, model.BatchJob) else None
        # A task built from the project's Dockerfile becomes an image asset: cdk deploy builds it
        # and pushes it to the bootstrap ECR repository, and binding it to the container grants
        # the execution role pull on that repository. The ``image`` tag is the local name only.
        image_ref = (ecs.ContainerImage.from_asset(str(self.project_root / build.context), file=build.dockerfile)
                     if build is not None else ecs.ContainerImage.from_registry(image))
        size = cdk.Size.mebibytes(memory)
        command = list(settings.command) or None
        container: batch.IEcsContainerDefinition
        if platform_of(task) is model.Platform.FARGATE:
            # Public subnets without NAT: the task needs a public IP to reach the registry, Secrets
            # Manager and CloudWatch Logs. Behind NAT (an existing VPC's private subnets) it does not.
            container = batch.EcsFargateContainerDefinition(
                scope, "Container", image=image_ref, cpu=vcpus, memory=size, command=command,
                environment=environment, execution_role=execution_role, job_role=job_role, logging=logging,
                assign_public_ip=assign_public_ip,
            )
        else:
            container = batch.EcsEc2ContainerDefinition(
                scope, "Container", image=image_ref, cpu=vcpus, memory=size, command=command,
                environment=environment, execution_role=execution_role, job_role=job_role, logging=logging,
            )
        if build is None and policies.ecr_pull_statements(image):
            cdk.Annotations.of(container).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
                "the execution role gets pull permissions on exactly this repository (iam.ecr_pull_statements)",
            )
        attempt = settings.attempt_seconds
        definition = batch.EcsJobDefinition(
            scope,
            "Definition",
            container=container,
            propagate_tags=True,
            timeout=None if attempt is None else cdk.Duration.seconds(attempt),
        )
        cfn = definition.node.default_child
        assert isinstance(cfn, cdk.CfnResource)
        # Spot reclaims are retried by Batch: the compiled SubmitJob leaves retryStrategy to this.
        cfn.add_property_override(
            "RetryStrategy",
            {"Attempts": settings.retry_attempts, "EvaluateOnExit": [dict(r) for r in settings.evaluate_on_exit]},
        )
        if secrets:
            # Exact ARNs as given (a Secrets Manager JSON key suffix included); the L2 Secret
            # helpers would rebuild SSM ARNs in this stack's account and region.
            cfn.add_property_override(
                "ContainerProperties.Secrets", [{"Name": k, "ValueFrom": v} for k, v in secrets.items()]
            )
        return definition


def _stream_prefix(task: str) -> str:
    """awslogs-stream-prefix: no ':' or '*' allowed; task names are already safe in practice."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task)
