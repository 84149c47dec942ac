//! Generated document ids: 20 URL-safe characters, ordered by creation time.
//!
//! Both backends index ids in a sorted structure (SQLite's `documents_by_id` B-tree, Lucene's
//! terms). Random ids land on a random page of that index on every insert, so a batch of new
//! documents rewrites pages all over it; ids that grow with time are appended at its end.
//! Elasticsearch's own generated ids are time-based for the same reason.
//!
//! Layout (120 bits): 48 bits of milliseconds since the epoch, a 24-bit counter that orders ids
//! generated in the same millisecond, and 48 random bits, so ids from several processes (or a
//! clock that stepped back) still do not collide. Encoded six bits per character with an
//! alphabet in ASCII order, so the text sorts like the bits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The 64 URL-safe characters in ASCII order.
const ALPHABET: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new 20-character id, greater than the ids this process generated in earlier milliseconds.
pub(crate) fn generate_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    let counter = u64::from(COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00FF_FFFF);
    let random: u64 = rand::random::<u64>() & 0xFFFF_FFFF_FFFF;
    let high = ((millis & 0xFFFF_FFFF_FFFF) << 16) | (counter >> 8);
    let low = ((counter & 0xFF) << 56) | (random << 8);
    // 120 bits: all of `high` (64) then the top 56 bits of `low`.
    let bits = (u128::from(high) << 56) | u128::from(low >> 8);
    (0..20)
        .rev()
        .map(|index| char::from(ALPHABET[((bits >> (6 * index)) & 0x3F) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_twenty_url_safe_characters_in_generation_order() {
        let ids: Vec<String> = (0..10_000).map(|_| generate_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 20, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "ids repeat");
        // The counter orders ids within a millisecond; it wraps only after 16 million.
        assert_eq!(sorted, ids, "ids are not generated in order");
    }

    #[test]
    fn the_alphabet_is_in_ascii_order() {
        assert!(ALPHABET.windows(2).all(|pair| pair[0] < pair[1]));
    }
}
