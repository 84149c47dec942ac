//! What a word is: for the full-text index (`_string`, and the narrowing of long-string reads)
//! and for `_like`.
//!
//! FTS5's `unicode61` tokenizer decides from Unicode tables of 2012 (6.1), and counts every
//! character it has no category for as a letter: newer emoji ("urgent🤯" was one word), newer
//! currency signs ("100₽"), private-use characters. Skep decides instead: a word is a run of
//! alphanumeric characters (Rust's Unicode tables) and of the combining marks in [`JOINING`].
//! Text given to the tokenizer, and the words of a full-text query, have every other non-ASCII
//! character replaced by a space first, so the tokenizer splits wherever [`words`] does (and a
//! little more: its old tables also split at some characters Rust counts as letters, which
//! phrase queries absorb). That keeps the full-text index a superset of `_like`'s word matches,
//! which long-string reads rely on when they narrow with it.
//!
//! The text file records [`stamp`]: a file indexed under another rule (or another Unicode
//! version of Rust's tables) is rebuilt when the store opens (text.rs).

use std::borrow::Cow;

/// Version of the rule above; bump it when the rule changes, so existing text files are rebuilt.
const RULE: u32 = 1;

/// Characters that are not alphanumeric but stay inside a word: the marks and format characters
/// FTS5's tokenizer keeps in words (newer combining marks, which it has no category for) or
/// removes (the diacritics it folds). Found by giving the tokenizer `x{c}y` for every code point,
/// with categories from Unicode 14; inclusive ranges, sorted. Ranges only hold characters that
/// are alphanumeric or belong here.
const JOINING: &[(u32, u32)] = &[
    (0x300, 0x304),
    (0x306, 0x30C),
    (0x30F, 0x30F),
    (0x311, 0x311),
    (0x31B, 0x31B),
    (0x323, 0x328),
    (0x32D, 0x32E),
    (0x330, 0x331),
    (0x605, 0x605),
    (0x61C, 0x61C),
    (0x7FD, 0x7FD),
    (0x890, 0x891),
    (0x898, 0x8E2),
    (0x9FE, 0x9FE),
    (0xAFD, 0xAFF),
    (0xB55, 0xB55),
    (0xC3C, 0xC3C),
    (0xD3B, 0xD3C),
    (0xEBA, 0xEBA),
    (0x1715, 0x1715),
    (0x180F, 0x180F),
    (0x1AB0, 0x1ACB),
    (0x1CF7, 0x1CF9),
    (0x1DF5, 0x1DFB),
    (0x2066, 0x2069),
    (0xA82C, 0xA82C),
    (0xFE27, 0xFE2F),
    (0x102E0, 0x102E0),
    (0x10AE5, 0x10AE6),
    (0x10F46, 0x10F50),
    (0x10F82, 0x10F85),
    (0x11070, 0x11070),
    (0x1107F, 0x1107F),
    (0x110CD, 0x110CD),
    (0x11173, 0x11173),
    (0x111C9, 0x111CC),
    (0x11235, 0x11236),
    (0x112E9, 0x112EA),
    (0x1133B, 0x1133C),
    (0x1134D, 0x1134D),
    (0x11366, 0x1136C),
    (0x11370, 0x11374),
    (0x11442, 0x11446),
    (0x1145E, 0x1145E),
    (0x114C2, 0x114C3),
    (0x115BF, 0x115C0),
    (0x1163F, 0x1163F),
    (0x1172B, 0x1172B),
    (0x11839, 0x1183A),
    (0x1193D, 0x11943),
    (0x119E0, 0x119E0),
    (0x11A33, 0x11A34),
    (0x11A47, 0x11A47),
    (0x11A98, 0x11A99),
    (0x11C3F, 0x11C3F),
    (0x11D42, 0x11D45),
    (0x11D97, 0x11D97),
    (0x13430, 0x13438),
    (0x16AF0, 0x16AF4),
    (0x16B30, 0x16B36),
    (0x16FE4, 0x16FE4),
    (0x1BC9D, 0x1BC9D),
    (0x1BCA0, 0x1BCA3),
    (0x1CF00, 0x1CF2D),
    (0x1CF30, 0x1CF46),
    (0x1DA00, 0x1DA36),
    (0x1DA3B, 0x1DA6C),
    (0x1DA75, 0x1DA75),
    (0x1DA84, 0x1DA84),
    (0x1DA9B, 0x1DA9F),
    (0x1DAA1, 0x1DAAF),
    (0x1E130, 0x1E136),
    (0x1E2AE, 0x1E2AE),
    (0x1E2EC, 0x1E2EF),
    (0x1E8D0, 0x1E8D6),
    (0x1E944, 0x1E94A),
];

/// What the text file records about how its text was split into words.
pub(super) fn stamp() -> String {
    let (major, minor, patch) = char::UNICODE_VERSION;
    format!("rule {RULE}, unicode {major}.{minor}.{patch}")
}

/// Whether `character` belongs to a word.
pub(super) fn in_word(character: char) -> bool {
    if character.is_ascii() {
        return character.is_ascii_alphanumeric();
    }
    character.is_alphanumeric() || joining(character)
}

fn joining(character: char) -> bool {
    let code = u32::from(character);
    let after = JOINING.partition_point(|&(first, _)| first <= code);
    after > 0 && code <= JOINING[after - 1].1
}

/// Appends `text` to `out` as the tokenizer should see it (see the module docs).
pub(super) fn push_for_tokenizer(out: &mut String, text: &str) {
    if text.is_ascii() {
        out.push_str(text);
        return;
    }
    out.extend(text.chars().map(for_tokenizer_char));
}

/// `text` as the tokenizer should see it (see the module docs).
pub(super) fn for_tokenizer(text: &str) -> Cow<'_, str> {
    if text
        .chars()
        .all(|character| for_tokenizer_char(character) == character)
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().map(for_tokenizer_char).collect())
    }
}

fn for_tokenizer_char(character: char) -> char {
    if character.is_ascii() || in_word(character) {
        character
    } else {
        ' '
    }
}

/// The words of `text`, as written.
pub(super) fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(|character: char| !in_word(character))
        .filter(|word| !word.is_empty())
}

/// The words of `text`, lower-cased.
pub(super) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    split(text).map(str::to_lowercase)
}

/// True when every word of `wanted` is a word of `text`, ignoring case.
pub(super) fn contains_words(text: &str, wanted: &str) -> bool {
    let have: std::collections::HashSet<String> = words(text).collect();
    let mut any = false;
    for word in words(wanted) {
        any = true;
        if !have.contains(&word) {
            return false;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use rusqlite::Connection;

    #[test]
    fn word_matching_ignores_case_punctuation_and_order() {
        assert!(contains_words("Phishing mail, from Bob.", "mail phishing"));
        assert!(contains_words("Écrit en français", "écrit"));
        assert!(!contains_words("phishing", "phish"));
        assert!(!contains_words("12", "2"));
        assert!(!contains_words("anything", " , "));
    }

    #[test]
    fn emoji_currency_signs_and_private_use_characters_end_words_and_marks_do_not() {
        assert!(contains_words("urgent🤯 mail", "urgent"));
        assert!(contains_words("100₽", "100"));
        assert!(contains_words("ab\u{E000}cd", "cd"));
        assert!(contains_words("ninja🥷🏽team", "team"));
        // A combining acute accent, and a newer Arabic mark, stay in their word.
        assert_eq!(words("re\u{301}sume\u{301}").count(), 1);
        assert_eq!(words("\u{628}\u{8CA}\u{628}").count(), 1);
        assert_eq!(for_tokenizer("urgent🤯"), "urgent ");
        assert!(matches!(for_tokenizer("Zürich"), Cow::Borrowed(_)));
        let mut text = String::from("a ");
        push_for_tokenizer(&mut text, "x\u{F8FF}y");
        assert_eq!(text, "a x y");
    }

    #[test]
    fn the_joining_ranges_are_sorted_and_apart() {
        for pair in JOINING.windows(2) {
            assert!(
                pair[0].0 <= pair[0].1 && pair[0].1 + 1 < pair[1].0,
                "{pair:?}"
            );
        }
    }

    /// The rule's promise, checked against the bundled tokenizer for every code point: wherever
    /// `words` splits `x{c}y`, the tokenizer (given the text as [`for_tokenizer`] makes it)
    /// splits it too, and a joining character never splits a word in the tokenizer either.
    #[test]
    fn the_tokenizer_splits_wherever_words_do() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE VIRTUAL TABLE t USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2');
                 CREATE VIRTUAL TABLE v USING fts5vocab (t, instance);",
            )
            .unwrap();
        let codes = 0x80..=0x10_FFFF;
        let transaction = connection.unchecked_transaction().unwrap();
        {
            let mut insert = transaction
                .prepare("INSERT INTO t (rowid, text) VALUES (?1, ?2)")
                .unwrap();
            for code in codes {
                if let Some(character) = char::from_u32(code) {
                    let text = format!("x{character}y");
                    insert
                        .execute(rusqlite::params![code, for_tokenizer(&text)])
                        .unwrap();
                }
            }
        }
        transaction.commit().unwrap();
        let mut tokens = connection
            .prepare("SELECT doc, count(*), max(term = 'x') FROM v GROUP BY doc")
            .unwrap();
        let mut rows = tokens.query([]).unwrap();
        let mut checked = 0;
        while let Some(row) = rows.next().unwrap() {
            let (code, count, x): (u32, i64, bool) = (
                row.get(0).unwrap(),
                row.get(1).unwrap(),
                row.get(2).unwrap(),
            );
            let character = char::from_u32(code).unwrap();
            let text = format!("x{character}y");
            if split(&text).count() == 2 {
                assert!(count == 2 && x, "U+{code:04X} glues words in the tokenizer");
            }
            if joining(character) {
                assert_eq!(count, 1, "U+{code:04X} splits words in the tokenizer");
            }
            checked += 1;
        }
        assert!(checked > 1_000_000, "{checked}");
    }
}
