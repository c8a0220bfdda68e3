//! The seeded pseudo-random generator: SplitMix64, one stream per directed
//! link.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator starting from `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for the directed link `from -> to` under the
    /// network seed `seed`: depends only on the seed and the two host names,
    /// so adding hosts does not change the faults of other links.
    pub(crate) fn for_link(seed: u64, from: &str, to: &str) -> Rng {
        let mut h = fnv1a(0xcbf2_9ce4_8422_2325, from.as_bytes());
        h = fnv1a(h, &[0xff]);
        h = fnv1a(h, to.as_bytes());
        let mut mix = Rng::new(seed ^ h.rotate_left(17));
        let first = mix.next_u64();
        Rng::new(first ^ h)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (NaN and values <= 0 never, >= 1 always).
    /// Always draws one number, so the stream does not depend on `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        let u = self.unit();
        p > 0.0 && u < p
    }
}

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn streams_are_stable_and_distinct() {
        let mut a = Rng::for_link(1, "a", "b");
        let mut b = Rng::for_link(1, "a", "b");
        let mut c = Rng::for_link(1, "b", "a");
        let mut d = Rng::for_link(2, "a", "b");
        let xa: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        let xd: Vec<u64> = (0..4).map(|_| d.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
        assert_ne!(xa, xd);
    }

    #[test]
    fn unit_range_and_chance() {
        let mut r = Rng::new(7);
        let mut hits = 0;
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            if r.chance(0.25) {
                hits += 1;
            }
        }
        assert!((2300..2700).contains(&hits));
        assert!(!r.chance(f64::NAN));
        assert!(r.chance(1.0));
    }
}
