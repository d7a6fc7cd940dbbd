//! People's names and street addresses, found where the text signals them.
//!
//! A name is never guessed from capital letters alone ("Leeds General", "Addison's
//! disease", "Queen Elizabeth Hospital" are capitalised too). A name is redacted only after
//! a cue:
//!
//! - a **title**: Dr, Doctor, Mr, Mrs, Ms, Miss, Mx, Nurse, Sister, Matron, Prof,
//!   Professor, Midwife ("Dr Patel", "dr patel", "Nurse Jo Brown"); the title is kept, the
//!   name removed ("Dr [name removed]");
//! - a **self-introduction**: "my name is", "my name's", "I'm called", "call me", "I go
//!   by" (a lower-case name is accepted here: "my name is john smith");
//! - a **role** or **relative** before a capitalised name: "the receptionist Karen", "a
//!   nurse called Jane", "a lady named Sue", "my husband Dave";
//! - a **signature** at the very end: "Thanks, John", "Kind regards\nSarah Jones", "- Dave".
//!
//! What follows the cue must look like a name: one to three capitalised words (one or two
//! lower-case words after a self-introduction or an abbreviated title), none of them an
//! everyday word, weekday, month, place or institution word ("Hospital", "General",
//! "Surgery"), and not followed by "hospital", "report", "disease" or "syndrome" ("Dr
//! Foster's report", "Dr Gray's Hospital"). A few well-known non-people after a title are
//! listed ("Mr Men", "Dr Who", "Dr Martens").
//!
//! A name after a clinical title (Dr, Nurse, Sister, Matron, Prof, Midwife) or a staff
//! role, or a Mr/Mrs/Ms/Miss name with a staff role word nearby ("consultant Mr Shah"), is
//! a **staff name** ([`crate::PersonalData::StaffName`]), so the core can hold posts that
//! name staff for review.
//!
//! A **street address** is a house number (optionally a flat number and a range), one to
//! three name words and a street type ("14 Acacia Avenue", "Flat 2, 7 Mill Lane", "3a
//! St John's Road"); the whole of it is removed. The street name words must not be
//! everyday words or units ("3 hours in the road" is not an address), and for street
//! types that are also everyday words (park, green, view, close, way, hill, …) they must
//! be capitalised. A flat number alone ("I live in flat 12") is removed too.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

use crate::personal_data::compile;

/// Compiles with ASCII-only case folding (`(?i)` without Unicode's extra folds such as the
/// Kelvin sign), which keeps the lazy DFA small and fast for these long alternations.
fn compile_ascii(pattern: &str) -> Result<Regex, regex::Error> {
    compile(&pattern.replace("(?i)", "(?i-u)").replace("(?i:", "(?i-u:"))
}
use crate::PersonalData;

/// Compiled cue patterns.
#[derive(Debug, Clone)]
pub(crate) struct NameScanner {
    /// Title, self-introduction, relative and role cues in one pass: which to run.
    cues: RegexSet,
    title: Regex,
    intro: Regex,
    relative: Regex,
    role: Regex,
    signoff: Regex,
    im: Regex,
    name_the_role: Regex,
    /// Whether a staff role is written anywhere ("the porter"): a cheap test before looking
    /// for a name just before one.
    any_role: Regex,
    address: Regex,
    flat: Regex,
}

const RELATIVES: &str = "husband|wife|partner|son|daughter|mum|mom|mam|mother|dad|father|brother|sister|grandson|granddaughter|nan|nana|nanna|gran|granny|grandma|grandmother|grandad|granddad|grandpa|grandfather|friend|best friend|neighbour|boyfriend|girlfriend|fiance|fiancé|fiancee|fiancée|child|baby|uncle|aunt|auntie|aunty|niece|nephew|cousin|stepson|stepdaughter|stepdad|stepmum|sibling|twin|carer|flatmate|housemate|colleague|boss";

const ROLES: &str = "receptionist|nurse|doctor|gp|consultant|surgeon|midwife|paramedic|physio|physiotherapist|pharmacist|health visitor|healthcare assistant|hca|porter|manager|practice manager|ward manager|registrar|anaesthetist|radiographer|sonographer|dentist|optician|therapist|counsellor|psychiatrist|psychologist|social worker|matron|care coordinator|support worker|dietitian|dietician|podiatrist|phlebotomist|cleaner|practitioner|nurse practitioner|call handler|triage nurse|health care assistant|junior doctor|specialist|clinician|ward sister|sister|staff nurse|student nurse|osteopath|audiologist|occupational therapist|speech therapist|care worker|home carer|key worker";

const PERSONS: &str = "lady|man|woman|guy|girl|bloke|chap|gentleman|person|fella|fellow|lad|lass";

/// Titles that make the name a member of staff.
const CLINICAL_TITLES: &[&str] = &["dr", "doctor", "nurse", "sister", "matron", "prof", "professor", "midwife"];

/// Words near a Mr/Mrs/Ms/Miss name (or "a lady called …") that make it a member of staff.
#[rustfmt::skip]
const STAFF_WORDS: &[&str] = &[
    "receptionist", "reception", "nurse", "doctor", "gp", "consultant", "surgeon", "midwife", "paramedic", "physio",
    "pharmacist", "porter", "manager", "registrar", "anaesthetist", "radiographer", "dentist", "therapist",
    "counsellor", "psychiatrist", "matron", "clinic", "ward", "surgery", "practice", "hospital", "staff", "desk",
    "triage", "specialist", "orthopaedic", "orthopaedics", "cardiology", "oncology", "clinician",
];

/// (title, first word) pairs that are not people.
const NOT_PEOPLE: &[(&str, &str)] = &[
    ("dr", "foster"),
    ("doctor", "foster"),
    ("dr", "who"),
    ("doctor", "who"),
    ("mr", "men"),
    ("dr", "martens"),
    ("dr", "marten"),
    ("dr", "pepper"),
    ("dr", "oetker"),
    ("dr", "seuss"),
    ("mr", "muscle"),
    ("mr", "kipling"),
    ("mr", "bean"),
    ("mr", "blobby"),
    ("mr", "tumble"),
    ("mr", "motivator"),
    ("mr", "whippy"),
    ("mr", "right"),
    ("mr", "brightside"),
    ("dr", "dre"),
    ("dr", "google"),
    ("dr", "zhivago"),
    ("dr", "strange"),
    ("dr", "jekyll"),
    ("mr", "hyde"),
    ("dr", "feelgood"),
    ("dr", "hook"),
    ("miss", "saigon"),
    ("miss", "universe"),
    ("miss", "world"),
    ("sister", "act"),
    ("mrs", "brown's"),
    ("mrs", "doubtfire"),
    ("nurse", "ratched"),
];

/// Lower-case words that are never (the start of) a name, however they are written: function
/// words, pronouns, everyday verbs, weekdays and months, titles and roles, institution and
/// place words, common UK place names and eponymous conditions.
#[rustfmt::skip]
const NOT_NAME: &[&str] = &[
    // function words and pronouns
    "a", "an", "the", "i", "im", "i'm", "ive", "i've", "id", "i'd", "me", "my", "mine", "you", "your", "yours", "he",
    "him", "his", "she", "her", "hers", "it", "its", "we", "us", "our", "they", "them", "their", "this", "that",
    "these", "those", "there", "here", "and", "but", "or", "so", "if", "then", "than", "as", "at", "in", "on", "to",
    "from", "with", "for", "of", "by", "about", "after", "before", "into", "over", "under", "up", "down", "out",
    "off", "not", "no", "yes", "all", "any", "some", "every", "each", "both", "who", "what", "when", "where", "why",
    "how", "which", "whose", "just", "only", "also", "too", "very", "really", "still", "even", "again", "ever",
    "never", "always", "please", "thanks", "thank", "cheers", "regards", "hi", "hello", "dear", "ok", "okay", "sorry",
    "everyone", "everybody", "someone", "somebody", "anyone", "nobody", "team", "staff", "all", "lot", "guys",
    "folks", "people", "again", "today", "tomorrow", "yesterday", "tonight", "now", "later", "soon", "once", "twice",
    // everyday verbs and adjectives
    "is", "was", "were", "are", "am", "be", "been", "being", "has", "had", "have", "having", "do", "does", "did",
    "done", "said", "says", "say", "told", "tells", "tell", "asked", "asks", "gave", "gives", "give", "took", "takes",
    "take", "came", "comes", "come", "went", "goes", "go", "got", "gets", "get", "saw", "sees", "see", "seen", "made",
    "makes", "make", "kept", "keeps", "let", "lets", "put", "puts", "rang", "rings", "ring", "called", "calls",
    "call", "phoned", "referred", "refused", "wouldn't", "couldn't", "didn't", "doesn't", "don't", "won't", "can't",
    "isn't", "wasn't", "will", "would", "could", "should", "might", "must", "can", "may", "shall", "who's",
    "appointment", "appointments", "appt", "visit", "visits", "surgery", "surgeries", "office", "notes", "letter",
    "letters", "name", "number", "on", "back", "away", "now", "rude", "lovely", "kind", "great", "good", "bad",
    "nice", "amazing", "brilliant", "fantastic", "excellent", "helpful", "unhelpful", "dismissive", "new", "old",
    "not", "nothing", "something", "anything", "everything", "important", "private", "withheld", "anonymous",
    "because", "since", "while", "until", "though", "although", "however", "also", "like", "just", "actually",
    "basically", "honestly", "seriously", "literally", "obviously", "sadly", "luckily", "thankfully", "finally",
    "eventually", "apparently", "said", "straight", "first", "last", "next", "other", "another", "same", "whole",
    "half", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "more", "most", "less",
    "least", "much", "many", "few", "several", "own", "such", "own", "well", "better", "best", "worse", "worst",
    "sent", "wrote", "explained", "listened", "ignored", "laughed", "shouted", "examined", "prescribed", "diagnosed",
    "discharged", "admitted", "seemed", "looked", "sounded", "felt", "thought", "knew", "wanted", "tried", "left",
    "stayed", "answered", "replied", "spoke", "talked", "treated", "helped", "checked", "booked", "cancelled",
    // weekdays and months
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mon", "tue", "tues", "wed", "thu",
    "thur", "thurs", "fri", "sat", "sun", "january", "february", "march", "april", "june", "july", "august",
    "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
    "oct", "nov", "dec", "christmas", "easter", "bank",
    // titles and roles
    "dr", "doctor", "doctors", "mr", "mrs", "ms", "miss", "mx", "nurse", "nurses", "sister", "matron", "prof",
    "professor", "midwife", "sir", "madam", "dame", "lord", "lady", "st", "saint", "gp", "gps", "consultant",
    "surgeon", "receptionist", "receptionists", "registrar", "practitioner", "paramedic", "paramedics", "physio",
    "pharmacist", "manager", "porter", "specialist", "junior", "senior", "locum", "duty", "agency", "student", "head",
    "chief", "charge", "staff", "healthcare", "assistant", "worker", "carer", "carers", "mum", "dad", "mother",
    "father", "husband", "wife", "son", "daughter", "partner", "brother", "friend",
    // institutions and places
    "nhs", "hospital", "hospitals", "general", "infirmary", "royal", "university", "teaching", "district", "county",
    "community", "memorial", "children's", "childrens", "women's", "womens", "medical", "health", "healthcare",
    "centre", "center", "clinic", "practice", "trust", "foundation", "unit", "ward", "wards", "department", "dept",
    "service", "services", "surgery", "pharmacy", "chemist", "a&e", "ae", "emergency", "urgent", "walk-in",
    "maternity", "outpatients", "outpatient", "inpatient", "ambulance", "road", "street", "lane", "avenue", "way",
    "park", "house", "lodge", "court", "hall", "place", "square", "green", "hill", "north", "south", "east", "west",
    "central", "city", "town", "village", "council", "pals", "samaritans", "shout", "mind", "macmillan", "boots",
    "superdrug", "tesco", "asda", "sainsbury's", "nice", "cqc", "ics", "icb", "ccg", "england", "scotland", "wales",
    "ireland", "britain", "uk", "leeds", "london", "manchester", "bradford", "sheffield", "york", "hull", "liverpool",
    "birmingham", "bristol", "newcastle", "wakefield", "huddersfield", "halifax", "harrogate", "derby", "nottingham",
    "leicester", "coventry", "cardiff", "swansea", "glasgow", "edinburgh", "aberdeen", "dundee", "belfast", "oxford",
    "cambridge", "brighton", "plymouth", "exeter", "norwich", "ipswich", "reading", "luton", "southampton",
    "portsmouth", "bath", "stockport", "bolton", "wigan", "preston", "blackpool", "lancaster", "carlisle", "durham",
    "sunderland", "middlesbrough", "doncaster", "rotherham", "barnsley", "dewsbury", "keighley", "otley", "ilkley",
    "pontefract", "castleford", "airedale", "pinderfields", "jimmy's", "jimmys", "wythenshawe", "addenbrooke's",
    "addenbrookes", "guy's", "guys", "tommy's", "barts", "whittington", "homerton", "lewisham", "kings", "king's",
    "queen", "queen's", "queens", "elizabeth", "victoria", "alexandra", "albert", "george", "james's", "james",
    "thomas's", "mary's", "bartholomew's", "luke's", "john's", "helier", "chad's", "margaret's", "peter's",
    "richard's", "michael's", "catherine's", "nicholas",
    // eponymous conditions and other capitalised words
    "addison's", "addisons", "crohn's", "crohns", "down's", "downs", "parkinson's", "parkinsons", "alzheimer's",
    "alzheimers", "hodgkin's", "hodgkins", "huntington's", "asperger's", "aspergers", "tourette's", "tourettes",
    "raynaud's", "graves", "graves'", "hashimoto's", "bell's", "cushing's", "meniere's", "ménière's", "paget's",
    "sjogren's", "sjögren's", "addison", "crohn", "down", "parkinson", "alzheimer", "hodgkin", "huntington",
    "asperger", "tourette", "raynaud", "hashimoto", "cushing", "meniere", "paget", "sjogren", "foster's", "lyme",
    "ehlers", "danlos", "guillain", "barre", "barré", "epstein", "barr", "covid", "english", "british", "polish",
    "urdu", "punjabi", "christian", "muslim", "jewish", "hindu", "sikh", "god", "jesus", "allah", "lord", "fine",
    "cheers", "love", "xx", "xxx", "x", "best", "wishes", "thx",
];

/// Words just after a name's possessive that show it names a thing, not a person ("Dr
/// Foster's report", "Addison's disease"); "Dr Patel's surgery" is still a person.
#[rustfmt::skip]
const AFTER_POSSESSIVE_THING: &[&str] = &[
    "hospital", "infirmary", "report", "reports", "disease", "syndrome", "ratings", "guide", "foundation", "trust",
    "institute", "memorial", "hospice", "university", "law", "scale", "test", "sign", "palsy", "books", "cartoons",
    "show", "programme", "film", "boots", "shoes", "general",
];

/// Words just after a name that show it names a thing, not a person.
#[rustfmt::skip]
const AFTER_THING: &[&str] = &[
    "hospital", "infirmary", "report", "reports", "disease", "syndrome", "ratings", "guide", "foundation", "trust",
    "institute", "unit", "centre", "center", "medical", "general", "memorial", "hospice", "university", "law",
    "scale", "test", "sign", "palsy", "ward", "wing", "building", "road", "street", "lane", "avenue", "way", "park",
    "house", "lodge", "health", "clinic", "surgery", "practice", "pharmacy", "boots", "shoes", "books", "cartoons",
    "show", "programme", "film",
];

/// Words that cannot name a street (everyday words and units), checked on the words between
/// a house number and a street type.
#[rustfmt::skip]
const NOT_STREET: &[&str] = &[
    "a", "an", "the", "in", "on", "at", "of", "to", "for", "and", "or", "my", "your", "our", "their", "his", "her",
    "its", "is", "was", "ago", "with", "from", "by", "per", "times", "time", "hours", "hour", "hrs", "hr", "minutes",
    "minute", "mins", "min", "days", "day", "weeks", "week", "wks", "months", "month", "years", "year", "yrs",
    "miles", "mile", "metres", "meters", "yards", "people", "patients", "kids", "children", "of", "different",
    "other", "more", "less", "times", "mg", "ml", "tablets", "pills", "doses", "visits", "calls", "nights", "floors",
    "steps", "stops", "minute's", "mins'", "flights", "very", "really", "so", "too", "quite", "not", "all", "just",
    "out", "up", "down", "off", "over", "into", "back", "then", "when", "it", "that", "this", "there", "am", "pm",
    "o'clock", "separate", "long", "short", "whole", "full", "half", "new", "old", "big", "small", "fine", "seconds",
    "second", "feet", "foot", "inches", "stone", "pounds", "kilos", "kg", "lbs", "percent", "beds", "bed", "ward",
    "bay", "room", "rooms", "sessions", "appointments", "cancer", "cups", "glasses", "pints",
];

/// Street types that are everyday words too: the street name must be capitalised.
#[rustfmt::skip]
const AMBIGUOUS_TYPES: &[&str] = &[
    "st", "dr", "way", "close", "cl", "court", "ct", "place", "pl", "hill", "row", "walk", "square", "sq", "view",
    "rise", "green", "parade", "mount", "vale", "fold", "gate", "croft", "park", "meadow", "meadows", "fields",
    "chase", "wharf", "quay", "heights", "approach", "bank", "end", "side", "yard", "brow", "garth", "lea", "dale",
    "gr",
];

/// One word of text.
struct Word<'t> {
    /// Byte range of the word without a possessive `'s`.
    range: Range<usize>,
    text: &'t str,
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '\'' | '’' | '-')
}

/// The word starting at `pos` after spaces or tabs (and, if `lines`, line breaks).
fn next_word(text: &str, pos: usize, lines: bool) -> Option<Word<'_>> {
    let rest = text.get(pos..)?;
    let start = pos + (rest.len() - rest.trim_start_matches(|c| c == ' ' || c == '\t' || (lines && c == '\n')).len());
    let tail = &text[start..];
    let len = tail.find(|c: char| !is_word_char(c)).unwrap_or(tail.len());
    // A word glued to digits ("bth70022") is a code, not a name.
    if tail[len..].starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let mut word = tail[..len].trim_end_matches(['\'', '’', '-']);
    for suffix in ["'s", "’s", "'S"] {
        if let Some(w) = word.strip_suffix(suffix) {
            word = w;
        }
    }
    let word = word.trim_end_matches(['\'', '’', '-']);
    let first = word.chars().next()?;
    if !first.is_alphabetic() {
        return None;
    }
    Some(Word { range: start..start + word.len(), text: word })
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn lower(word: &str) -> String {
    word.to_lowercase().replace('’', "'")
}

fn not_name(word: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| NOT_NAME.iter().copied().collect());
    if word.bytes().all(|b| b.is_ascii_lowercase()) {
        return set.contains(word);
    }
    set.contains(lower(word).as_str())
}

/// A capitalised word that could be a name: `Patel`, `O'Brien`, `McDonald`, `Smith-Jones`.
fn capitalised_name(word: &str) -> bool {
    let mut chars = word.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    first_upper && word.chars().count() >= 2 && word.chars().any(char::is_lowercase) && !not_name(word)
}

/// A lower-case word that could be a name (after a self-introduction or "dr").
fn lower_name(word: &str) -> bool {
    word.chars().count() >= 2
        && word.chars().all(|c| c.is_lowercase() || c == '\'' || c == '-')
        && !not_name(word)
        && !NOT_STREET.contains(&word)
}

/// How a cue allows the name after it to be written.
#[derive(Clone, Copy, PartialEq)]
enum Case {
    /// Capitalised words only.
    Capitalised,
    /// Capitalised, or one or two lower-case words.
    Any,
}

/// The name after `pos`, if what follows looks like one: its byte range.
fn take_name(text: &str, pos: usize, case: Case, max_words: usize, lines: bool) -> Option<Range<usize>> {
    let first = next_word(text, pos, lines)?;
    let capital = capitalised_name(first.text);
    if !(capital || (case == Case::Any && lower_name(first.text))) {
        return None;
    }
    let mut range = first.range.clone();
    let mut words = 1;
    let mut possessive = text[range.end..].starts_with(['\'', '’']);
    while words < max_words && !possessive {
        // Only plain spaces between the words of one name.
        if !text[range.end..].starts_with([' ', '\t']) {
            break;
        }
        let Some(w) = next_word(text, range.end, false) else { break };
        let fits = if capital { capitalised_name(w.text) } else { lower_name(w.text) && words < 2 };
        if !fits {
            // "Leeds General", "Queen Elizabeth Hospital": a capitalised institution word
            // after the name means it was a place.
            if capital && w.text.chars().next().is_some_and(char::is_uppercase) && not_name(w.text) {
                let l = lower(w.text);
                if AFTER_THING.contains(&l.as_str()) {
                    return None;
                }
            }
            break;
        }
        range.end = w.range.end;
        words += 1;
        possessive = text[range.end..].starts_with(['\'', '’']);
    }
    // "Dr Foster's report", "Addison's disease": a thing, not a person.
    if let Some(after) = next_word(text, range.end + possessive_len(&text[range.end..]), false) {
        let gap = &text[range.end..after.range.start];
        let l = lower(after.text);
        let thing = if possessive_len(&text[range.end..]) > 0 {
            AFTER_POSSESSIVE_THING.contains(&l.as_str())
        } else {
            AFTER_THING.contains(&l.as_str())
        };
        if thing && gap.chars().all(|c| c == ' ' || c == '\'' || c == '’' || c == 's') {
            return None;
        }
    }
    Some(range)
}

fn possessive_len(rest: &str) -> usize {
    for p in ["'s", "’s", "'S"] {
        if rest.starts_with(p) {
            return p.len();
        }
    }
    0
}

/// Lower-case words within `before` bytes before and `after` bytes after `range`.
fn words_near<'t>(
    text: &'t str,
    range: &Range<usize>,
    before: usize,
    after: usize,
) -> impl Iterator<Item = String> + 't {
    let mut from = range.start.saturating_sub(before);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = (range.end + after).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    text[from..range.start]
        .split(|c: char| !c.is_alphanumeric() && c != '&')
        .chain(text[range.end..to].split(|c: char| !c.is_alphanumeric() && c != '&'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn staff_nearby(text: &str, range: &Range<usize>) -> bool {
    words_near(text, range, 40, 40).any(|w| STAFF_WORDS.contains(&w.as_str()))
}

impl NameScanner {
    pub(crate) fn new() -> Result<Self, regex::Error> {
        let mut scanner = Self::patterns()?;
        scanner.cues = RegexSet::new([
            scanner.title.as_str(),
            scanner.intro.as_str(),
            scanner.relative.as_str(),
            scanner.any_role.as_str(),
        ])?;
        Ok(scanner)
    }

    fn patterns() -> Result<Self, regex::Error> {
        Ok(NameScanner {
            cues: RegexSet::empty(),
            title: compile_ascii(
                r"\b(?:(Dr|Doctor|DR|Mr|MR|Mrs|MRS|Ms|MS|Miss|Mx|Nurse|Sister|Matron|Prof|Professor|Midwife)|(dr|mr|mrs|ms|mx|prof))\b\.?",
            )?,
            intro: compile_ascii(
                r"(?i)\b(?:my name is|my name's|my name’s|my names|name's|name’s|i'm called|i’m called|i am called|im called|(?:you can |just |please )?call me|they call me|i go by|i'm known as|i am known as)\b[ \t]*[:,\-]?",
            )?,
            relative: compile_ascii(&format!(r"(?i)\bmy[ \t]+(?:{RELATIVES})\b[ \t]*,?"))?,
            role: compile_ascii(&format!(
                r"(?i)\b(?:the|a|an|our|my|your|his|her|their|this|that|one|another|lovely|rude|new|same)[ \t]+(?:(?:senior|junior|duty|head|practice|ward|staff|student|agency|locum|community|district|specialist|charge|lovely|rude|young|older|male|female|other|main|new|usual)[ \t]+)*(?:({ROLES})|({PERSONS}))(?:s)?\b[ \t]*,?[ \t]*(?:(called|named|who is called|who was called|whose name is|whose name was|by the name of)\b)?"
            ))?,
            signoff: compile_ascii(
                r"(?i)(?:\b(?:thanks|thank you|many thanks|thanks again|thanks so much|regards|kind regards|best regards|warm regards|warmest regards|best wishes|all the best|cheers|love|lots of love|yours sincerely|yours faithfully|yours truly|sincerely|take care|ta|from)\b[ \t]*(?:[,.!:;\-]|–|—)*[ \t]*(?:\r?\n[ \t]*)?|(?:^|[ \t\n])(?:[\-~]|–|—)+[ \t]*|\n[ \t]*)",
            )?,
            im: compile_ascii(
                r"(?:^|[.!?\n][ \t]*)(?i:(?:hi|hello|hiya|hey)[ \t]*[,!.]?[ \t]*)?(?i:i'm|i’m|i am|im)[ \t]+",
            )?,
            any_role: compile_ascii(&format!(r"(?i)\b(?:{ROLES}|{PERSONS})s?\b"))?,
            name_the_role: compile_ascii(&format!(r"(?i)^[ \t]*,?[ \t]*(?:the|our|my|a|\()[ \t]*(?:{ROLES})\b"))?,
            address: compile_ascii(
                r"(?i)\b(?:(?:flat|apartment|apt|unit)\.?[ \t]*(?:no\.?[ \t]*)?[0-9]{1,4}[a-z]?[ \t]*,?[ \t]*)?[0-9]{1,4}[a-z]?(?:[ \t]*-[ \t]*[0-9]{1,4}[a-z]?)?[ \t]*,?[ \t]+((?:[a-z](?:[a-z'\-]|’)*[ \t]+){1,3}?)(street|st|road|rd|avenue|ave|lane|ln|close|cl|drive|dr|way|crescent|cres|court|ct|place|pl|gardens|gdns|grove|gr|terrace|terr|tce|hill|row|walk|mews|square|sq|view|rise|green|parade|pde|boulevard|mount|vale|fold|gate|croft|wynd|park|meadow|meadows|fields|chase|wharf|quay|heights|approach|bank|end|side|yard|brow|garth|lea|dale)\b\.?",
            )?,
            flat: compile_ascii(
                r"(?:\b(?i:in|at|from|of|to|my|our|live|lives|living)[ \t]+(?i:flat|apartment|apt)|\b(?:Flat|FLAT|Apartment|Apt))\.?[ \t]*(?:(?i:no)\.?[ \t]*)?[0-9]{1,4}[A-Za-z]?\b",
            )?,
        })
    }

    /// Finds names and addresses in `text`, appending `(kind, range)`.
    pub(crate) fn scan(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        if text.len() < 4 {
            return;
        }
        // One pass finds which cue patterns can match at all.
        let cues = self.cues.matches(text);
        if cues.matched(0) {
            self.titles(text, out);
        }
        if cues.matched(1) || cues.matched(2) {
            self.intros(text, out);
        }
        let any_role = cues.matched(3);
        if any_role {
            self.roles(text, out);
        }
        self.signature(text, out);
        self.introduced(text, out, any_role);
        if text.bytes().any(|b| b.is_ascii_digit()) {
            self.addresses(text, out);
        }
    }

    fn titles(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        for c in self.title.captures_iter(text) {
            let (Some(whole), title) = (c.get(0), c.get(1).or(c.get(2))) else { continue };
            let Some(title) = title else { continue };
            let case = if c.get(2).is_some() { Case::Any } else { Case::Capitalised };
            let Some(range) = take_name(text, whole.end(), case, 3, false) else { continue };
            let t = title.as_str().to_lowercase();
            let first = next_word(text, whole.end(), false).map(|w| lower(w.text)).unwrap_or_default();
            if NOT_PEOPLE.iter().any(|(a, b)| *a == t && (*b == first || b.strip_suffix("'s") == Some(&first))) {
                continue;
            }
            let relative_before = t == "sister" && {
                let before = text[..title.start()].trim_end().to_lowercase();
                ["my", "your", "his", "her", "our", "their"].iter().any(|w| before.ends_with(w))
            };
            let staff = !relative_before && (CLINICAL_TITLES.contains(&t.as_str()) || staff_nearby(text, &range));
            out.push((if staff { PersonalData::StaffName } else { PersonalData::Name }, range));
        }
    }

    fn intros(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        for m in self.intro.find_iter(text) {
            if let Some(range) = take_name(text, m.end(), Case::Any, 3, false) {
                out.push((PersonalData::Name, range));
            }
        }
        for m in self.relative.find_iter(text) {
            if let Some(range) = take_name(text, m.end(), Case::Capitalised, 2, false) {
                out.push((PersonalData::Name, range));
            }
        }
    }

    /// "I'm Sarah, 34, …", "Hi, I'm Tom and …", "I'm Sophie's dad": a capitalised name
    /// right after "I'm" at the start of a sentence, followed by a comma, "and", the end, or
    /// a possessive and a relative.
    fn introduced(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>, any_role: bool) {
        let maybe_im = text.contains("'m ")
            || text.contains("’m ")
            || text.contains("'M ")
            || contains_ignore_ascii_case(text, "i am ")
            || contains_ignore_ascii_case(text, "im ");
        for m in self.im.find_iter(if maybe_im { text } else { "" }) {
            let Some(range) = take_name(text, m.end(), Case::Capitalised, 2, false) else { continue };
            let rest = &text[range.end..];
            let fits = rest.starts_with([',', '.', '!']) || rest.trim().is_empty() || rest.starts_with(" and ") || {
                possessive_len(rest) > 0 && {
                    let w = next_word(text, range.end + possessive_len(rest), false).map(|w| lower(w.text));
                    w.is_some_and(|w| RELATIVES.split('|').any(|r| r == w))
                }
            };
            if fits {
                out.push((PersonalData::Name, range));
            }
        }
        // "Mike the porter", "Hannah, our health visitor": a name before a staff role.
        if !any_role {
            return;
        }
        let mut at = 0;
        while let Some(m) = self.role_after_name_cue(text, at) {
            at = m.end;
            out.push((PersonalData::StaffName, m));
        }
    }

    /// The next capitalised name (not at a sentence start after "I") directly followed by
    /// "the <role>", ", our <role>" or "(<role>)".
    fn role_after_name_cue(&self, text: &str, from: usize) -> Option<Range<usize>> {
        let mut pos = from;
        while pos < text.len() {
            let rel = text[pos..].find(|c: char| c.is_uppercase())?;
            let start = pos + rel;
            let word = next_word(text, start, false);
            let next = start + text[start..].chars().next().map_or(1, char::len_utf8);
            let Some(word) = word.filter(|w| w.range.start == start) else {
                pos = next;
                continue;
            };
            let glued = text[..start].chars().next_back().is_some_and(char::is_alphanumeric);
            if !glued && capitalised_name(word.text) {
                let end = word.range.end;
                if self.name_the_role.is_match(&text[end..]) {
                    return Some(word.range);
                }
            }
            pos = word.range.end.max(next);
        }
        None
    }

    fn roles(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        for c in self.role.captures_iter(text) {
            let Some(whole) = c.get(0) else { continue };
            let role = c.get(1).is_some();
            let called = c.get(3).is_some();
            // "a lady" needs "called"/"named": "a lady Sue" is not how names are given.
            if !role && !called {
                continue;
            }
            if let Some(range) = take_name(text, whole.end(), Case::Capitalised, 2, false) {
                let staff = role || staff_nearby(text, &range);
                out.push((if staff { PersonalData::StaffName } else { PersonalData::Name }, range));
            }
        }
    }

    fn signature(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        // Only the end of the post can hold a signature (then only punctuation and kisses).
        let end = text.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '!' | ',' | ')' | 'x' | 'X'));
        let mut from = end.len().saturating_sub(60);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        for m in self.signoff.find_iter(&text[from..end.len()]) {
            let at = from + m.end();
            let Some(range) = take_name(text, at, Case::Capitalised, 2, false) else { continue };
            let rest = &text[range.end..];
            if rest.chars().all(|c| c.is_whitespace() || matches!(c, '.' | '!' | ',' | ')' | 'x' | 'X')) {
                out.push((PersonalData::Name, range));
                return;
            }
        }
    }

    fn addresses(&self, text: &str, out: &mut Vec<(PersonalData, Range<usize>)>) {
        let mut at = 0;
        while let Some(c) = self.address.captures_at(text, at) {
            let (Some(whole), Some(words), Some(kind)) = (c.get(0), c.get(1), c.get(2)) else { break };
            let kind_l = kind.as_str().to_lowercase();
            let ambiguous = AMBIGUOUS_TYPES.contains(&kind_l.as_str());
            let ok = words.as_str().split_whitespace().all(|w| {
                let l = lower(w);
                let capital = w.chars().next().is_some_and(char::is_uppercase);
                !(NOT_STREET.contains(&l.as_str()) || (ambiguous && !capital))
            }) && !(kind_l == "st" && text[kind.end()..].starts_with(' ') && {
                // "12 St James's Road": St is Saint here; let the longer match win.
                next_word(text, kind.end(), false).is_some_and(|w| capitalised_name(w.text) || w.text == "James")
            });
            if ok {
                out.push((PersonalData::Address, whole.range()));
                at = whole.end();
            } else {
                at = whole.start() + 1;
                while at < text.len() && !text.is_char_boundary(at) {
                    at += 1;
                }
            }
            if at >= text.len() {
                break;
            }
        }
        for m in self.flat.find_iter(text) {
            // Keep the flat word and number only.
            let s = m.as_str();
            let lower_s = s.to_lowercase();
            let off = ["flat", "apartment", "apt"].iter().filter_map(|w| lower_s.find(w)).min().unwrap_or(0);
            out.push((PersonalData::Address, m.start() + off..m.end()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PersonalData, String)> {
        let s = NameScanner::new().unwrap();
        let mut out = Vec::new();
        s.scan(text, &mut out);
        out.into_iter().map(|(k, r)| (k, text[r].to_string())).collect()
    }

    #[test]
    fn titles_and_intros() {
        assert_eq!(
            found("Dr Patel at Oak Street Surgery was rude to me"),
            vec![(PersonalData::StaffName, "Patel".into())]
        );
        assert_eq!(
            found("My name is John Smith and I live at 14 Acacia Avenue, Leeds"),
            vec![(PersonalData::Name, "John Smith".into()), (PersonalData::Address, "14 Acacia Avenue".into())]
        );
        assert_eq!(found("my name is john smith and i"), vec![(PersonalData::Name, "john smith".into())]);
        assert_eq!(found("Mrs Jones was kind"), vec![(PersonalData::Name, "Jones".into())]);
        assert_eq!(found("the consultant Mr Shah"), vec![(PersonalData::StaffName, "Shah".into())]);
        assert_eq!(found("a nurse called Jane was lovely"), vec![(PersonalData::StaffName, "Jane".into())]);
        assert_eq!(found("Thanks, Sarah"), vec![(PersonalData::Name, "Sarah".into())]);
        assert_eq!(found("Thanks, Alex xx"), vec![(PersonalData::Name, "Alex".into())]);
        // Found by fuzzing: a name running past the trimmed end of the post panicked.
        assert_eq!(found("Thanks,A-x"), vec![(PersonalData::Name, "A-x".into())]);
    }

    #[test]
    fn hard_negatives() {
        for text in [
            "Leeds General was packed",
            "I have Addison's disease",
            "Dr Foster's report said the trust was failing",
            "my Crohn's is flaring",
            "my son has Down's syndrome",
            "St James's hospital was great",
            "Queen Elizabeth Hospital in Birmingham",
            "Parkinson's nurse was helpful",
            "my kids love the Mr Men books",
            "Park Road surgery is always busy",
            "waited 3 hours in the road outside",
            "Thank you Leeds General",
            "the doctor I saw was kind",
        ] {
            assert_eq!(found(text), vec![], "{text}");
        }
    }
}
