"""Freshness tokens: a change renews its names now and again at its commit (workflow.freshness).

The renewal at the commit is shared by every change of one atomic block; the renewal now is
never skipped, so a rendering stored before any change — even between two changes of one
block — is never served after it. Runs on whichever cache the settings name: the embedded file
cache, or Redis with CACHE_URL.
"""

from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.db import connection, transaction

from workflow import freshness
from workflow.audit import record

ORDER = "disclosureorder:DO-FRESH"
OTHER = "disclosureorder:DO-OTHER"


def token(name: str) -> str:
    return freshness.tokens([name])[name]


def renewals() -> list[Any]:
    """The renewals the current transaction will run at its commit."""
    return [hook for _sids, hook, _robust in connection.run_on_commit if isinstance(hook, freshness._Renewal)]


def test_a_renewal_drops_the_token_so_the_next_reader_draws_a_new_one() -> None:
    before = {name: token(name) for name in (ORDER, freshness.ALL, OTHER)}
    freshness.renew([ORDER, freshness.ALL])
    assert cache.get(freshness.key_of(ORDER)) is None
    assert cache.get(freshness.key_of(freshness.ALL)) is None
    assert token(ORDER) != before[ORDER]
    assert token(freshness.ALL) != before[freshness.ALL]
    assert token(OTHER) == before[OTHER]  # only the names renewed
    freshness.renew([ORDER])  # a token nobody drew since: nothing to drop, nothing fails
    freshness.renew([ORDER])


def test_the_file_cache_renewal_removes_the_file_django_reads(settings: Any, tmp_path: Any) -> None:
    """The file cache's renewal unlinks the token's file itself (FileBasedCache.delete's work):
    it must be the very file the cache reads, under any location."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    backend = caches["default"]
    assert type(backend) is FileBasedCache
    first = token(ORDER)
    assert (tmp_path / "cache").exists()
    freshness.renew([ORDER])
    assert backend.get(freshness.key_of(ORDER)) is None
    assert list((tmp_path / "cache").iterdir()) == []
    assert token(ORDER) != first


@pytest.mark.django_db(transaction=True)
def test_a_change_renews_now_and_again_at_its_commit() -> None:
    stored_before = token(ORDER)
    with transaction.atomic():
        record("test.changed", actor=None, stream=ORDER)
        # Now: what was stored before the change is stale even if the commit's hooks never run.
        drawn_before_commit = token(ORDER)
        assert drawn_before_commit != stored_before
    # At the commit: a reader that drew a token before it may have read the old rows.
    assert token(ORDER) != drawn_before_commit


@pytest.mark.django_db(transaction=True)
def test_the_changes_of_one_block_share_one_renewal_at_the_commit() -> None:
    renewed: list[set[str]] = []
    real = freshness.renew

    def counting(names: Any) -> None:
        renewed.append(set(names))
        real(names)

    with mock.patch.object(freshness, "renew", counting), transaction.atomic():
        for n in range(3):
            record("test.changed", actor=None, stream=ORDER, data={"n": n})
        record("test.changed", actor=None, stream=OTHER)
        assert len(renewals()) == 1
        assert renewals()[0].names == {ORDER, OTHER, freshness.ALL}
        now = list(renewed)
    # Every change renewed its names at once; the commit renewed them all, once.
    assert now == [{ORDER, freshness.ALL}] * 3 + [{OTHER, freshness.ALL}]
    assert renewed[len(now) :] == [{ORDER, OTHER, freshness.ALL}]


@pytest.mark.django_db
def test_a_change_between_two_readers_of_one_block_is_renewed_at_once() -> None:
    """Within one block too, a rendering stored after a change is dropped by the next change
    (in a test's transaction the commit never comes)."""
    with transaction.atomic():
        record("test.first", actor=None, stream=ORDER)
        drawn = token(ORDER)
        record("test.second", actor=None, stream=ORDER)
        assert token(ORDER) != drawn


@pytest.mark.django_db
def test_each_savepoint_has_its_own_renewal_and_a_rolled_back_one_loses_it() -> None:
    with transaction.atomic():
        record("test.outer", actor=None, stream=ORDER)
        try:
            with transaction.atomic():
                record("test.inner", actor=None, stream=OTHER)
                assert [r.names for r in renewals()] == [{ORDER, freshness.ALL}, {OTHER, freshness.ALL}]
                raise RuntimeError("the inner change fails")
        except RuntimeError:
            pass
        # The rolled-back savepoint's renewal went with it; the outer block's still comes, and
        # takes the outer block's later changes too.
        assert [r.names for r in renewals()] == [{ORDER, freshness.ALL}]
        record("test.after", actor=None, stream=OTHER)
        assert [r.names for r in renewals()] == [{ORDER, OTHER, freshness.ALL}]


@pytest.mark.django_db
def test_a_renewal_run_early_takes_no_more_names(django_capture_on_commit_callbacks: Any) -> None:
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=True):
            record("test.first", actor=None, stream=ORDER)
        drawn = token(OTHER)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            record("test.second", actor=None, stream=OTHER)
        assert any(isinstance(hook, freshness._Renewal) for hook in callbacks)
        # The second capture ran a renewal of its own: OTHER was renewed at its "commit" too.
        assert token(OTHER) != drawn


def test_a_first_reader_stores_the_token_it_draws_and_a_racing_one_reads_the_winners() -> None:
    freshness.renew([ORDER, OTHER])
    with mock.patch.object(cache, "get", wraps=cache.get) as got:
        first = freshness.tokens([ORDER], known={})
    assert got.call_count == 0  # stored by add(): nothing to read back
    assert cache.get(freshness.key_of(ORDER)) == first[ORDER]
    # A reader that found no token while another stored one meanwhile gets the stored one.
    assert freshness.tokens([ORDER], known={}) == first
    assert token(ORDER) == first[ORDER]


def test_known_tokens_are_not_read_again() -> None:
    known = {ORDER: token(ORDER)}
    freshness.renew([OTHER])
    with mock.patch.object(cache, "get_many", wraps=cache.get_many) as read_many:
        current = freshness.tokens([ORDER, OTHER], known=known)
    assert read_many.call_count == 0
    assert current[ORDER] == known[ORDER] and current[OTHER] == token(OTHER) != ""
