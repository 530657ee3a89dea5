import pytest

from todlm.format import HPRC_TIMES, FormatError, lamps_on, time_key
from todlm.format.times import parse_time_key


def test_lamp_boundaries():
    assert lamps_on(5.9) and lamps_on(18.1) and lamps_on(0.0) and lamps_on(23.0)
    assert not lamps_on(6.0) and not lamps_on(18.0) and not lamps_on(12.0)


def test_hprc_times_and_keys():
    assert len(HPRC_TIMES) == 26
    assert [time_key(t) for t in (0, 5.9, 18.1, 23)] == ["0", "590", "1810", "2300"]
    assert all(parse_time_key(time_key(t)) == t for t in HPRC_TIMES)


@pytest.mark.parametrize("key", ["abc", "-100", "5.9", "2500", ""])
def test_unknown_time_keys_are_rejected(key):
    with pytest.raises(FormatError, match="unknown time key"):
        parse_time_key(key, "config.json")
