"""The operator's namespace fixtures (CRD applied, a fresh namespace per test), shared with the loop test."""

from tests.operator.conftest import crd, kubectl, namespace  # noqa: F401
