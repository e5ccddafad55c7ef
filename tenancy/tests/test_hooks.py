"""tenancy.hooks: how apps ask each other without importing each other."""

import pytest

from tenancy import hooks
from tenancy.hooks import Hook, HookConflict, HookNotProvided


def _hook(many=False):
    return Hook("example_question", "(x) -> int", provided_by="example_app", many=many)


def test_hook_without_provider_names_the_app_to_install():
    hook = _hook()
    with pytest.raises(HookNotProvided, match="add 'example_app' to INSTALLED_APPS"):
        hook.call(1)


def test_hook_answers_with_its_one_provider_and_refuses_a_second():
    hook = _hook()

    def double(x):
        return 2 * x

    hook.register(double)
    hook.register(double)  # ready() twice: still one provider
    assert hook.call(21) == 42
    with pytest.raises(HookConflict, match="already has a provider"):
        hook.register(lambda x: x)
    with hook.override(lambda x: -x):
        assert hook.call(1) == -1
    assert hook.call(1) == 2


def test_hook_listeners_all_run_in_order_and_none_is_fine():
    hook = _hook(many=True)
    assert hook.call(1) == []
    hook.register(lambda x: x + 1)
    hook.register(lambda x: x + 2)
    assert hook.call(1) == [2, 3]


def test_hook_features_register_their_providers_when_ready():
    # The apps fill the core's hooks in AppConfig.ready(): nobody imported anybody.
    for hook in (
        hooks.revoke_user_sessions,
        hooks.require_user_step_up,
        hooks.has_second_factor,
        hooks.verify_second_factor,
    ):
        assert hook.provided, hook
    for hook in (
        hooks.tenant_created,
        hooks.tenant_event,
        hooks.session_anomaly,
        hooks.session_token_refused,
        hooks.erase_tenant_files,
    ):
        assert hook.provided, hook
