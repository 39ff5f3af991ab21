"""What the CLI's ``synth``, ``deploy``, ``diff`` and ``destroy`` do; they take parsed arguments,
print, and return the exit code (mistakes are :class:`~orchestrator.cdk.toolkit.ToolkitError`).

``deploy`` has two paths: the CDK stacks (the default), or ``--state-machine-only``, the boto3 fast
path onto existing resources (``orchestrator.aws.commands.deploy``, what ``orchestrator deploy``
was before the CDK path existed).

    >>> parse_context(["vpc_id=vpc-0123", "tracing=true"])
    {'vpc_id': 'vpc-0123', 'tracing': 'true'}
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from orchestrator.cdk import toolkit
from orchestrator.cdk.toolkit import ToolkitError


def parse_context(items: Sequence[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` items of ``--context`` as a mapping."""
    values: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ToolkitError(f"--context {item!r} is not KEY=VALUE", fix="--context vpc_id=vpc-0123abcd")
        values[key] = value
    return values


def synth(paths: Sequence[str], out: str, context: Sequence[str] | None = None) -> int:
    """``synth [PATH...] --out DIR``: write the templates, no AWS account needed."""
    values = parse_context(context)
    toolkit.check_cdk_lib()
    toolkit.check_node(os.environ)
    from orchestrator.cdk.synth import synthesize

    for template in synthesize(paths, out, context=values):
        print(f"wrote {template}")
    return 0


def deploy(
    paths: Sequence[str],
    *,
    state_machine_only: bool = False,
    role_arn: str | None = None,
    substitutions: str | None = None,
    region: str | None = None,
    context: Sequence[str] | None = None,
    yes: bool = False,
) -> int:
    """``deploy [PATH...]`` (the CDK stacks) or ``deploy --state-machine-only PATH --role-arn ROLE``."""
    if state_machine_only:
        if len(paths) != 1 or role_arn is None:
            raise ToolkitError("--state-machine-only deploys the state machines of one workflow file onto "
                               "existing resources and needs their role",
                               fix="orchestrator deploy --state-machine-only SPEC --role-arn ROLE "
                                   "[--substitutions FILE]")
        from orchestrator.aws import commands

        return commands.deploy(paths[0], role_arn, substitutions, region)
    if role_arn is not None or substitutions is not None:
        # Before the CDK path, `orchestrator deploy SPEC --role-arn ROLE` was the boto3 deploy.
        raise ToolkitError("--role-arn and --substitutions belong to the boto3 path, which is now "
                           "--state-machine-only (plain `orchestrator deploy` deploys the CDK stacks)",
                           fix=f"orchestrator deploy --state-machine-only {paths[0] if paths else 'SPEC'} "
                               "--role-arn ROLE [--substitutions FILE]")
    if region is not None:
        raise ToolkitError("--region only applies to --state-machine-only; the CDK stacks go to the "
                           "credentials' region", fix="AWS_REGION=eu-west-1 orchestrator deploy ...")
    extra = ["--require-approval", "never"] if yes else []
    return toolkit.run("deploy", paths, context=parse_context(context), extra=extra)


def diff(paths: Sequence[str], context: Sequence[str] | None = None) -> int:
    """``diff [PATH...]``: what a deploy would change."""
    return toolkit.run("diff", paths, context=parse_context(context))


def destroy(paths: Sequence[str], context: Sequence[str] | None = None, *, force: bool = False) -> int:
    """``destroy [PATH...]``: delete those workflows' stacks (all of the project's with no path)."""
    return toolkit.run("destroy", paths, context=parse_context(context), stacks=toolkit.destroy_stacks(paths),
                       extra=["--force"] if force else [])
