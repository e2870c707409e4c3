"""Names that look like a misspelt one, for "did you mean" in error messages (model names, option keys, flags)."""

import difflib
from typing import Iterable, List

__all__ = ['closest_names', 'did_you_mean']


def closest_names(name: str, candidates: Iterable[str], count: int = 3, cutoff: float = 0.6) -> List[str]:
    """The candidates that look most like ``name`` (difflib's similarity, case ignored, best first), keeping only
    those about as close as the best.

    Args:
        name: A misspelt name.
        candidates: Valid names.
        count: At most this many are returned.
        cutoff: Least similarity (0 to 1) of a returned name.

    Returns:
        Up to ``count`` close names; empty when none is close.
    """
    by_case = {candidate.lower(): candidate for candidate in sorted(set(candidates))}
    matches = difflib.get_close_matches(name.lower(), list(by_case), n=count, cutoff=cutoff)
    ratios = [difflib.SequenceMatcher(None, name.lower(), match).ratio() for match in matches]
    # only the names about as close as the best one: "num_block", not "num_block or num_out_ch"
    return [by_case[match] for match, ratio in zip(matches, ratios) if ratio >= ratios[0] - 0.05]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean X?)`` naming the closest candidates, or an empty string when none is close.

    Args:
        name: A misspelt name.
        candidates: Valid names.
    """
    close = closest_names(name, candidates)
    return f' (did you mean {" or ".join(close)}?)' if close else ''
