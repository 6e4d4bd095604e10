"""Helper of the claims-ledger tests: every row carries the verdict pinned for it."""


def assert_pinned_verdicts(rows, expected) -> None:
    """``expected`` is a list of (claim prefix, verdict), one per row, in order."""
    assert len(rows) == len(expected)
    for row, (claim, verdict) in zip(rows, expected):
        assert row.claim.startswith(claim), (row.claim, claim)
        assert row.verdict == verdict, f"{claim}: verdict {row.verdict!r}, pinned {verdict!r}; measured {row.measured}"
