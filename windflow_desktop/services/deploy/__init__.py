"""The deployment core: one deployment on one target, stage by stage, recorded.

``core.DeploymentCore`` is what the deployments service (and later a worker) drives;
``run`` walks the stages, ``journal`` is the only writer of deployment rows, stage
records, audit rows and deployment events, ``logs`` stores and publishes output lines,
``watch`` follows a deployment after it succeeded, ``recover`` rolls back, ``lifecycle``
stops/starts/removes, ``reconcile`` settles what a dead process left, ``preview`` shows
what a deployment would do, ``values`` is the stored shape of variables (secret refs),
``runners`` says which process runs what.
"""
