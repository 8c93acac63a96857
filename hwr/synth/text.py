"""The word source for synthetic lines: the project's own vocabulary, numbers and punctuation."""

from __future__ import annotations

import numpy as np

# Common English words plus a few of the 19th-century letter-writing kind, written for hwr.
WORDS = ["a", "about", "above", "after", "again", "against", "all", "almost", "alone", "along", "also", "always", "am", "among", "an", "and", "another", "any", "are", "around", "as", "ask", "at", "away", "back", "be", "because", "become", "been", "before", "began", "behind", "being", "below", "best", "better", "between", "big", "black", "blue", "body", "book", "both", "boy", "bring", "brother", "brought", "but", "by", "call", "came", "can", "carry", "case", "change", "child", "children", "city", "close", "cold", "come", "could", "country", "course", "cut", "day", "dear", "did", "different", "do", "does", "done", "door", "down", "draw", "during", "each", "early", "earth", "east", "eat", "end", "enough", "even", "evening", "ever", "every", "eye", "face", "fact", "family", "far", "father", "feel", "few", "field", "find", "fine", "fire", "first", "five", "follow", "food", "for", "form", "found", "four", "free", "friend", "from", "front", "full", "garden", "gave", "general", "get", "girl", "give", "go", "going", "good", "got", "great", "green", "ground", "group", "grow", "had", "half", "hand", "happy", "hard", "has", "have", "he", "head", "hear", "heard", "heart", "help", "her", "here", "high", "him", "his", "hold", "home", "hope", "horse", "hot", "hour", "house", "how", "however", "hundred", "idea", "if", "important", "in", "into", "is", "it", "its", "just", "keep", "kind", "king", "knew", "know", "land", "large", "last", "late", "learn", "leave", "left", "less", "let", "letter", "life", "light", "like", "line", "little", "live", "long", "look", "made", "make", "man", "many", "may", "me", "mean", "men", "might", "mile", "mind", "miss", "money", "month", "more", "morning", "most", "mother", "mountain", "move", "much", "must", "my", "name", "near", "need", "never", "new", "next", "night", "no", "north", "not", "nothing", "now", "number", "of", "off", "often", "old", "on", "once", "one", "only", "open", "or", "order", "other", "our", "out", "over", "own", "page", "paper", "part", "pass", "people", "perhaps", "person", "place", "plant", "play", "point", "poor", "possible", "power", "present", "pretty", "public", "put", "question", "quite", "rain", "read", "ready", "real", "reason", "red", "remember", "rest", "right", "river", "road", "rock", "room", "round", "run", "said", "same", "saw", "say", "school", "sea", "second", "see", "seem", "seen", "send", "sent", "set", "several", "shall", "she", "ship", "short", "should", "show", "side", "since", "sir", "sister", "small", "so", "some", "something", "sometimes", "soon", "sound", "south", "speak", "spring", "stand", "start", "state", "still", "stood", "stop", "story", "street", "strong", "such", "summer", "sun", "sure", "table", "take", "talk", "tell", "ten", "than", "thank", "that", "the", "their", "them", "then", "there", "these", "they", "thing", "think", "third", "this", "those", "though", "thought", "three", "through", "time", "to", "today", "together", "told", "too", "took", "town", "tree", "true", "try", "turn", "two", "under", "until", "up", "upon", "us", "use", "very", "voice", "wait", "walk", "want", "warm", "was", "watch", "water", "way", "we", "week", "well", "went", "were", "west", "what", "when", "where", "which", "while", "white", "who", "whole", "why", "wide", "wife", "will", "wind", "window", "winter", "wish", "with", "without", "woman", "wonder", "word", "work", "world", "would", "write", "wrote", "year", "yes", "yet", "you", "young", "your", "botany", "specimen", "seeds", "flora", "herbarium", "collection", "species", "genus", "plants", "leaves", "flowers", "journey", "voyage", "island", "colonial", "society", "museum", "professor", "doctor", "lecture", "volume", "printed", "parcel", "received", "obliged", "faithfully", "sincerely", "truly", "lazy", "size", "prize", "zeal", "six", "extra", "box", "xylem", "kew", "london", "india", "ceylon", "himalaya", "sikkim", "darjeeling", "calcutta"]

PUNCTUATION_AFTER = [",", ".", ";", ":", "!", "?"]


class TextSource:
    """Random lines of 1..``max_words`` words, deterministic for a seed.

    Words are sometimes capitalised, followed by punctuation, quoted, hyphenated
    or replaced by a number, so every character of :attr:`charset` occurs.
    """

    charset = "".join(sorted(set("".join(WORDS)) | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,.;:!?'-&()")))

    def __init__(self, seed: int, max_words: int = 6, max_chars: int = 40) -> None:
        self.rng = np.random.default_rng(seed)
        self.max_words = max_words
        self.max_chars = max_chars

    def _word(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.06:
            return str(int(rng.integers(0, 2000))) if rng.random() < 0.7 else f"{rng.integers(1, 31)}th"
        word = WORDS[rng.integers(len(WORDS))]
        if r < 0.25:
            word = word.capitalize()
        elif r < 0.27:
            word = word.upper()
        elif r < 0.29:
            word = f"{word}-{WORDS[rng.integers(len(WORDS))]}"
        elif r < 0.30:
            word = f"({word})"
        elif r < 0.31:
            word = f"'{word}'"
        elif r < 0.32:
            word = "&"
        if rng.random() < 0.12:
            word += PUNCTUATION_AFTER[rng.integers(len(PUNCTUATION_AFTER))]
        return word

    def line(self) -> str:
        n = int(self.rng.integers(1, self.max_words + 1))
        words = [self._word() for _ in range(n)]
        while len(words) > 1 and len(" ".join(words)) > self.max_chars:
            words.pop()
        return " ".join(words)[: self.max_chars]

    def unique_lines(self, count: int, exclude: set[str] = frozenset()) -> list[str]:
        """``count`` distinct lines, none of them in ``exclude``."""
        seen = set(exclude)
        lines = []
        for _ in range(count * 100):
            if len(lines) == count:
                return lines
            text = self.line()
            if text and text not in seen:
                seen.add(text)
                lines.append(text)
        raise RuntimeError(f"could not make {count} distinct lines")
