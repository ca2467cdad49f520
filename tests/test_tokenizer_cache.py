"""The tekken tables cached under $CURATE_CACHE give the same tokenizer as the JSON file."""
from curate import tokenizer as T


def test_cached_tables_equal_the_parsed_ones_and_a_broken_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_CACHE", str(tmp_path))
    file = T.tekken_path()
    parsed = T._parse_tekken(file)
    assert T._tekken_tables(file) == parsed  # no cache yet: parsed, then written
    (cached,) = (tmp_path / "tokenizer").glob("*.pickle")
    assert T._tekken_tables(file) == parsed  # from the cache
    cached.write_bytes(b"not a pickle")
    assert T._tekken_tables(file) == parsed
    import tiktoken

    ref = tiktoken.Encoding(name="ref", pat_str=parsed[0], mergeable_ranks=parsed[3], special_tokens={})
    text = "Grüße aus 東京 – 123.45\n"
    assert list(T.Tokenizer(file).encode(text)) == [T.BOS, *(i + parsed[1] for i in ref.encode_ordinary(text)), T.EOS]
