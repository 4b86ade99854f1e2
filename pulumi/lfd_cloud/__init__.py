"""The cloud path as code: a Pulumi program (AWS EKS + MSK + S3 + ECR + IRSA + the Helm release of our chart).

Import direction: ``program`` composes the components (``network``, ``cluster``, ``kafka``, ``storage``,
``iam``, ``app``); components use the pure builders (``documents``, ``values``, ``naming``); ``policies``
judges registered resources and imports nothing from the components. Nothing here imports the dev stack.
"""
