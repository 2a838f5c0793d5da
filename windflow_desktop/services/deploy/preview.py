"""What deploying a revision would do on a target, without changing it: the preflight
checks, the file and values checked, and ``compose config`` run in a scratch folder."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import replace

from ...domain.errors import WindFlowError
from ...domain.models import DeployPreview, PreflightCheck, StackRevision, Target
from ...domain.variables import mask_values, parse_spec
from ...engine.compose import ComposeProject, HostFacts, reserved_variables
from ...engine.compose_model import model_ports, parse_model
from ...engine.compose_validation import check_values, validate_compose
from ...engine.preflight import compose_check, host_checks
from ...tasks import run_to_end
from . import places
from .context import DeployContext, message_of


async def preview(ctx: DeployContext, target: Target, revision: StackRevision,
                  values: Mapping[str, str], project: str | None = None) -> DeployPreview:
    """Preflight checks, then ``compose config`` of ``revision`` with ``values``, run on
    ``target`` in a scratch folder (the real project's files are not touched) under
    ``project``'s name, so it shows the project and network that deploying makes; its
    secret values masked; and the host access the revision needs."""
    executor = await ctx.executors.executor(target)
    facts = await places.facts(ctx, executor, target)
    host = HostFacts(facts.disk_free_mb, facts.memory_available_mb, facts.listening)
    checks = [compose_check(places.place_from(facts)),
              *host_checks(host, ctx.settings.minimums)]
    specs = parse_spec(revision.variables)
    report = await asyncio.to_thread(validate_compose, revision.compose_yaml, specs)
    problems = (report.errors + check_values(report, specs, values)
                + reserved_variables(spec.name for spec in specs))
    checks.append(PreflightCheck("files", not problems, "variables and file valid"
                                 if not problems
                                 else "; ".join(str(p) for p in problems[:5])))
    secrets = [values[s.name] for s in specs if s.secret and values.get(s.name)]
    config = ""
    if facts.compose is not None:
        root, guarded = places.projects_root(ctx, target, facts.home)
        scratch = ComposeProject(executor, project or f"wf-preview-{uuid.uuid4().hex[:8]}",
                                 root, flavour=facts.compose, guarded=guarded,
                                 folder=f"wf-preview-{uuid.uuid4().hex[:8]}")
        try:
            await scratch.stage(revision.compose_yaml, values)
            config = await scratch.config_text(staged=True)
            model = await asyncio.to_thread(parse_model, config)  # off the loop
            own: set[tuple[str, int]] = set()
            if project:
                for c in await ComposeProject(executor, project, root,
                                              flavour=facts.compose).ps():
                    own |= c.ports
            for proto, port in sorted(model_ports(model)):
                free = (proto, port) not in facts.listening or (proto, port) in own
                checks.append(PreflightCheck(
                    "port", free, f"port {port}/{proto} " + ("free" if free else "in use")))
        except WindFlowError as exc:
            checks.append(PreflightCheck("compose config", False, message_of(exc)))
        finally:  # the staged .env.next holds secret values: never left halfway
            await run_to_end(scratch.remove_files())
    # A failing `compose config` may quote the values it was given.
    masked = tuple(replace(c, detail=mask_values(c.detail, secrets)) for c in checks)
    return DeployPreview(target.name, masked, mask_values(config, secrets),
                         tuple(report.host_access))
