"""Running the operator: leader election, then kopf, the certificate loop and the re-check loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Optional

import kopf

from tfguard.kube import KubeClient, load_config
import tfguard.operator.handlers  # noqa: F401  (registers the kopf handlers)
from tfguard.operator.certs import reconcile_certificates
from tfguard.operator.health import serve_health
from tfguard.operator.leader import Leader
from tfguard.operator.metrics import OperatorMetrics
from tfguard.operator.reconcile import recheck_loop
from tfguard.operator.runtime import Runtime
from tfguard.operator.settings import OperatorSettings

log = logging.getLogger("tfguard.operator")


async def certificate_loop(rt: Runtime) -> None:
    while True:
        try:
            wait = await reconcile_certificates(rt.kube, rt.settings, observe=rt.metrics.certificates)
        except Exception as exc:  # the API may be briefly away; the current certificates stay valid
            log.warning("certificate pass failed: %s", exc)
            wait = min(rt.settings.cert_check_interval, 10.0)
        await asyncio.sleep(wait)


async def run(settings: OperatorSettings, stop_flag: Optional[asyncio.Event] = None) -> int:
    if settings.kserve:
        import tfguard.operator.inference_services  # noqa: F401  (registers its kopf handlers)
    kube = KubeClient(load_config(settings.kubeconfig))
    leader = None if settings.standalone else Leader(kube, settings)
    tasks: list[asyncio.Task] = []
    metrics = OperatorMetrics()
    health = await serve_health(settings.health_port, metrics=metrics) if settings.health_port is not None else None
    try:
        if leader is not None:
            await leader.acquire()
        metrics.leader = True
        rt = Runtime(settings=settings, kube=kube, metrics=metrics)
        if settings.manage_certificates:
            # Certificates first: a fresh install's webhook waits for them to start serving.
            try:
                await reconcile_certificates(kube, settings, observe=metrics.certificates)
            except Exception as exc:
                log.warning("first certificate pass failed: %s", exc)
            tasks.append(asyncio.create_task(certificate_loop(rt), name="certificates"))
        tasks.append(asyncio.create_task(recheck_loop(rt), name="recheck"))
        tasks.append(asyncio.create_task(rt.reports.run(), name="policy reports"))
        if leader is not None:
            tasks.append(asyncio.create_task(leader.keep(), name="lease"))
        tasks.append(
            asyncio.create_task(
                kopf.operator(clusterwide=True, standalone=True, memo=rt, stop_flag=stop_flag), name="kopf"
            )
        )
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s stopped: %s", task.get_name(), task.exception())
                return 1
        return 0
    except asyncio.CancelledError:
        return 0
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if leader is not None:
            await leader.release()
        if health is not None:
            health.close()
        await kube.close()
