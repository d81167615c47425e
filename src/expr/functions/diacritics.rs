//! NormalizeDiacritics's table, carried over entry by entry from the reference page
//! (*Reference for writing expressions for attribute mappings in Microsoft Entra ID*,
//! NormalizeDiacritics). Several entries are a base letter plus combining marks; `æ`,
//! `ø`, `ß`, `ł` and `ı` are not Unicode decompositions, so the table is applied
//! literally (longest entry first) rather than by NFD and mark stripping. Characters not
//! in the table are kept (UNCONFIRMED on the page).

use std::collections::HashMap;
use std::sync::OnceLock;

/// (with diacritic, normalized), in the page's order.
const TABLE: &[(&str, &str)] = &[
    ("\u{E4}", "a"),
    ("\u{E0}", "a"),
    ("\u{E2}", "a"),
    ("\u{E3}", "a"),
    ("\u{E5}", "a"),
    ("\u{E1}", "a"),
    ("\u{105}", "a"),
    ("\u{103}", "a"),
    ("\u{101}", "a"),
    ("\u{101}\u{301}", "a"),
    ("\u{101}\u{300}", "a"),
    ("\u{101}\u{302}", "a"),
    ("\u{101}\u{303}", "a"),
    ("\u{1DF}", "a"),
    ("\u{101}\u{308}", "a"),
    ("\u{1E1}", "a"),
    ("a\u{331}", "a"),
    ("\u{E5}\u{304}", "a"),
    ("\u{C4}", "A"),
    ("\u{C0}", "A"),
    ("\u{C2}", "A"),
    ("\u{C3}", "A"),
    ("\u{C5}", "A"),
    ("\u{C1}", "A"),
    ("\u{104}", "A"),
    ("\u{102}", "A"),
    ("\u{100}", "A"),
    ("\u{100}\u{301}", "A"),
    ("\u{100}\u{300}", "A"),
    ("\u{100}\u{302}", "A"),
    ("\u{100}\u{303}", "A"),
    ("\u{1DE}", "A"),
    ("\u{100}\u{308}", "A"),
    ("\u{1E0}", "A"),
    ("A\u{331}", "A"),
    ("\u{C5}\u{304}", "A"),
    ("\u{E6}", "ae"),
    ("\u{1E3}", "ae"),
    ("\u{C6}", "AE"),
    ("\u{1E2}", "AE"),
    ("\u{E7}", "c"),
    ("\u{10D}", "c"),
    ("\u{107}", "c"),
    ("c\u{304}", "c"),
    ("c\u{331}", "c"),
    ("\u{C7}", "C"),
    ("\u{10C}", "C"),
    ("\u{106}", "C"),
    ("C\u{304}", "C"),
    ("C\u{331}", "C"),
    ("\u{10F}", "d"),
    ("d\u{304}", "d"),
    ("\u{1E0F}", "d"),
    ("\u{10E}", "D"),
    ("D\u{304}", "D"),
    ("\u{1E0E}", "D"),
    ("\u{EB}", "e"),
    ("\u{E8}", "e"),
    ("\u{E9}", "e"),
    ("\u{EA}", "e"),
    ("\u{119}", "e"),
    ("\u{11B}", "e"),
    ("\u{117}", "e"),
    ("\u{113}", "e"),
    ("\u{1E17}", "e"),
    ("\u{1E15}", "e"),
    ("\u{113}\u{302}", "e"),
    ("\u{113}\u{303}", "e"),
    ("\u{EA}\u{304}", "e"),
    ("e\u{331}", "e"),
    ("\u{EB}\u{304}", "e"),
    ("e\u{30A}\u{304}", "e"),
    ("\u{CB}", "E"),
    ("\u{C8}", "E"),
    ("\u{C9}", "E"),
    ("\u{CA}", "E"),
    ("\u{118}", "E"),
    ("\u{11A}", "E"),
    ("\u{116}", "E"),
    ("\u{112}", "E"),
    ("\u{1E16}", "E"),
    ("\u{1E14}", "E"),
    ("\u{112}\u{302}", "E"),
    ("\u{112}\u{303}", "E"),
    ("\u{CA}\u{304}", "E"),
    ("E\u{331}", "E"),
    ("\u{CB}\u{304}", "E"),
    ("E\u{30A}\u{304}", "E"),
    ("\u{11F}", "g"),
    ("\u{1E21}", "g"),
    ("g\u{331}", "g"),
    ("\u{11E}", "G"),
    ("\u{1E20}", "G"),
    ("G\u{331}", "G"),
    ("\u{EF}", "i"),
    ("\u{EE}", "i"),
    ("\u{EC}", "i"),
    ("\u{ED}", "i"),
    ("\u{131}", "i"),
    ("\u{12B}", "i"),
    ("\u{12B}\u{301}", "i"),
    ("\u{12B}\u{300}", "i"),
    ("\u{12B}\u{302}", "i"),
    ("\u{12B}\u{303}", "i"),
    ("i\u{331}", "i"),
    ("\u{CF}", "I"),
    ("\u{CE}", "I"),
    ("\u{CC}", "I"),
    ("\u{CD}", "I"),
    ("\u{130}", "I"),
    ("\u{12A}", "I"),
    ("\u{12A}\u{301}", "I"),
    ("\u{12A}\u{300}", "I"),
    ("\u{12A}\u{302}", "I"),
    ("\u{12A}\u{303}", "I"),
    ("I\u{331}", "I"),
    ("\u{13E}", "l"),
    ("\u{142}", "l"),
    ("l\u{304}", "l"),
    ("\u{1E39}", "l"),
    ("\u{1E3B}", "l"),
    ("\u{141}", "L"),
    ("\u{13D}", "L"),
    ("L\u{304}", "L"),
    ("\u{1E38}", "L"),
    ("\u{1E3A}", "L"),
    ("\u{F1}", "n"),
    ("\u{144}", "n"),
    ("\u{148}", "n"),
    ("n\u{304}", "n"),
    ("\u{1E49}", "n"),
    ("\u{D1}", "N"),
    ("\u{143}", "N"),
    ("\u{147}", "N"),
    ("N\u{304}", "N"),
    ("\u{1E48}", "N"),
    ("\u{F6}", "o"),
    ("\u{F2}", "o"),
    ("\u{151}", "o"),
    ("\u{F5}", "o"),
    ("\u{F4}", "o"),
    ("\u{F3}", "o"),
    ("\u{14D}", "o"),
    ("\u{1E53}", "o"),
    ("\u{1E51}", "o"),
    ("\u{14D}\u{302}", "o"),
    ("\u{14D}\u{303}", "o"),
    ("\u{22B}", "o"),
    ("\u{14D}\u{308}", "o"),
    ("\u{1ED}", "o"),
    ("\u{22D}", "o"),
    ("\u{231}", "o"),
    ("o\u{331}", "o"),
    ("\u{D6}", "O"),
    ("\u{D2}", "O"),
    ("\u{150}", "O"),
    ("\u{D5}", "O"),
    ("\u{D4}", "O"),
    ("\u{D3}", "O"),
    ("\u{14C}", "O"),
    ("\u{1E52}", "O"),
    ("\u{1E50}", "O"),
    ("\u{14C}\u{302}", "O"),
    ("\u{14C}\u{303}", "O"),
    ("\u{22A}", "O"),
    ("\u{14C}\u{308}", "O"),
    ("\u{1EC}", "O"),
    ("\u{22C}", "O"),
    ("\u{230}", "O"),
    ("O\u{331}", "O"),
    ("\u{F8}", "oe"),
    ("\u{F8}\u{304}", "oe"),
    ("\u{153}\u{304}", "oe"),
    ("\u{D8}", "OE"),
    ("\u{D8}\u{304}", "OE"),
    ("\u{152}\u{304}", "OE"),
    ("\u{159}", "r"),
    ("r\u{304}", "r"),
    ("\u{1E5F}", "r"),
    ("\u{1E5D}", "r"),
    ("\u{158}", "R"),
    ("R\u{304}", "R"),
    ("\u{1E5E}", "R"),
    ("\u{1E5C}", "R"),
    ("\u{DF}", "ss"),
    ("\u{161}", "s"),
    ("\u{15B}", "s"),
    ("\u{219}", "s"),
    ("\u{15F}", "s"),
    ("s\u{304}", "s"),
    ("s\u{331}", "s"),
    ("\u{160}", "S"),
    ("\u{15A}", "S"),
    ("\u{218}", "S"),
    ("\u{15E}", "S"),
    ("S\u{304}", "S"),
    ("S\u{331}", "S"),
    ("\u{165}", "t"),
    ("\u{21B}", "t"),
    ("t\u{304}", "t"),
    ("\u{1E6F}", "t"),
    ("\u{164}", "T"),
    ("\u{21A}", "T"),
    ("T\u{304}", "T"),
    ("\u{1E6E}", "T"),
    ("\u{FC}", "u"),
    ("\u{F9}", "u"),
    ("\u{FB}", "u"),
    ("\u{FA}", "u"),
    ("\u{16F}", "u"),
    ("\u{171}", "u"),
    ("\u{16B}", "u"),
    ("\u{16B}\u{301}", "u"),
    ("\u{16B}\u{300}", "u"),
    ("\u{16B}\u{302}", "u"),
    ("\u{16B}\u{303}", "u"),
    ("u\u{307}\u{304}", "u"),
    ("\u{1D6}", "u"),
    ("\u{1E7B}", "u"),
    ("\u{1E73}\u{304}", "u"),
    ("u\u{331}", "u"),
    ("\u{DC}", "U"),
    ("\u{D9}", "U"),
    ("\u{DB}", "U"),
    ("\u{DA}", "U"),
    ("\u{16E}", "U"),
    ("\u{170}", "U"),
    ("\u{16A}", "U"),
    ("\u{16A}\u{301}", "U"),
    ("\u{16A}\u{300}", "U"),
    ("\u{16A}\u{302}", "U"),
    ("\u{16A}\u{303}", "U"),
    ("U\u{307}\u{304}", "U"),
    ("\u{1D5}", "U"),
    ("\u{1E7A}", "U"),
    ("\u{1E72}\u{304}", "U"),
    ("U\u{331}", "U"),
    ("\u{FF}", "y"),
    ("\u{FD}", "y"),
    ("\u{233}", "y"),
    ("\u{233}\u{301}", "y"),
    ("\u{233}\u{300}", "y"),
    ("\u{233}\u{303}", "y"),
    ("y\u{331}", "y"),
    ("\u{178}", "Y"),
    ("\u{DD}", "Y"),
    ("\u{232}", "Y"),
    ("\u{232}\u{301}", "Y"),
    ("\u{232}\u{300}", "Y"),
    ("\u{232}\u{303}", "Y"),
    ("Y\u{331}", "Y"),
    ("\u{17A}", "z"),
    ("\u{17E}", "z"),
    ("\u{17C}", "z"),
    ("z\u{304}", "z"),
    ("\u{1E95}", "z"),
    ("\u{179}", "Z"),
    ("\u{17D}", "Z"),
    ("\u{17B}", "Z"),
    ("Z\u{304}", "Z"),
    ("\u{1E94}", "Z"),
];

/// The longest key, in characters.
const LONGEST: usize = 3;

fn table() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| TABLE.iter().copied().collect())
}

/// Replaces every table entry in `s` by its normalized letters.
pub(crate) fn normalize(s: &str) -> String {
    if s.is_ascii() {
        return s.to_owned();
    }
    let map = table();
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while let Some(first) = rest.chars().next() {
        if !first.is_ascii() || rest.chars().nth(1).is_some_and(|c| !c.is_ascii()) {
            // Try the longest run of up to LONGEST characters first.
            let ends: Vec<usize> = rest
                .char_indices()
                .skip(1)
                .map(|(i, _)| i)
                .chain(std::iter::once(rest.len()))
                .take(LONGEST)
                .collect();
            for &end in ends.iter().rev() {
                if let Some(to) = rest.get(..end).and_then(|k| map.get(k)) {
                    out.push_str(to);
                    rest = rest.get(end..).unwrap_or("");
                    continue 'outer;
                }
            }
        }
        out.push(first);
        rest = rest.get(first.len_utf8()..).unwrap_or("");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_the_table_including_combining_sequences() {
        assert_eq!(normalize("Zoë"), "Zoe");
        assert_eq!(normalize("Łódź Ærø straße"), "Lodz AEroe strasse");
        assert_eq!(normalize("a\u{331}x"), "ax");
        assert_eq!(normalize("\u{101}\u{301}"), "a");
        assert_eq!(normalize("日本"), "日本");
    }
}
