//! Planning: which `GetParameters` calls to make for a set of references,
//! and how many to keep in flight. Pure: no I/O, no values.

use std::collections::BTreeMap;

use crate::reference::Reference;

/// `GetParameters` takes at most 10 names per call.
pub const BATCH_SIZE: usize = 10;

/// One `GetParameters` call's worth of references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The region for this call; `None` is the configured region.
    pub region: Option<String>,
    /// At most [`BATCH_SIZE`] references, no two with the same identity.
    pub refs: Vec<Reference>,
}

/// Plan the calls: deduplicate, group by region, and split into batches of
/// at most ten where no two requests share an identity (a response names a
/// parameter without its selector, so two forms of one name in one call
/// could not be told apart).
///
/// For `n` requests in a region whose most repeated identity has `k` forms,
/// this makes `max(ceil(n / 10), k)` calls, which is the least possible.
#[must_use]
pub fn plan<'a, I>(refs: I, default_region: &str) -> Vec<Batch>
where
    I: IntoIterator<Item = &'a Reference>,
{
    // BTreeMaps keep the plan deterministic.
    let mut by_region: BTreeMap<Option<String>, BTreeMap<String, Reference>> = BTreeMap::new();
    for reference in refs {
        let fetched = reference.without_key();
        let region = fetched
            .region()
            .filter(|r| *r != default_region)
            .map(str::to_owned);
        by_region
            .entry(region)
            .or_default()
            .entry(fetched.request_name().to_owned())
            .or_insert(fetched);
    }
    let mut batches = Vec::new();
    for (region, unique) in by_region {
        let mut requests: Vec<Reference> = unique.into_values().collect();
        // Members of one identity are contiguous, so dealing the list out
        // round-robin puts each of them in a different batch.
        requests.sort_by(|a, b| a.identity().cmp(b.identity()));
        let mut largest = 0;
        let mut run = 0;
        for (i, r) in requests.iter().enumerate() {
            run = if i > 0 && requests[i - 1].identity() == r.identity() {
                run + 1
            } else {
                1
            };
            largest = largest.max(run);
        }
        let count = requests.len().div_ceil(BATCH_SIZE).max(largest);
        let mut dealt: Vec<Vec<Reference>> = vec![Vec::new(); count];
        for (i, r) in requests.into_iter().enumerate() {
            dealt[i % count].push(r);
        }
        batches.extend(dealt.into_iter().map(|refs| Batch {
            region: region.clone(),
            refs,
        }));
    }
    batches
}

/// How many calls to keep in flight: all of them up to `max`; above it, as
/// few as finish `calls` in the same number of rounds as `max` would, so
/// the rounds are filled evenly. Each call in flight holds a connection of
/// its own, and every new connection costs a TCP and TLS handshake: 11
/// calls with at most 10 in flight take two rounds either way, on 6
/// connections rather than 10.
#[must_use]
pub fn width(calls: usize, max: usize) -> usize {
    let max = max.max(1);
    let rounds = calls.div_ceil(max).max(1);
    calls.div_ceil(rounds).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(texts: &[&str]) -> Vec<Reference> {
        texts.iter().map(|t| Reference::parse(t).unwrap()).collect()
    }

    #[test]
    fn width_runs_all_calls_at_once_up_to_the_cap_then_fills_rounds_evenly() {
        let cases = [
            (0, 10, 1),
            (1, 10, 1),
            (9, 10, 9),
            (10, 10, 10),
            (11, 10, 6),
            (20, 10, 10),
            (21, 10, 7),
            (100, 10, 10),
            (10, 1, 1),
            (10, 0, 1),
        ];
        for (calls, max, expected) in cases {
            let got = width(calls, max);
            assert_eq!(got, expected, "{calls} calls, at most {max}");
            if calls > 0 {
                assert_eq!(
                    calls.div_ceil(got),
                    calls.div_ceil(max.max(1)),
                    "same rounds"
                );
            }
        }
    }

    #[test]
    fn plan_makes_ceil_n_over_ten_calls() {
        for n in [1_usize, 9, 10, 11, 31, 100, 1000] {
            let texts: Vec<String> = (0..n).map(|i| format!("/p/n{i}")).collect();
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let batches = plan(&refs(&texts), "us-east-1");
            assert_eq!(batches.len(), n.div_ceil(10), "n = {n}");
            assert!(
                batches
                    .iter()
                    .all(|b| !b.refs.is_empty() && b.refs.len() <= 10)
            );
            assert_eq!(batches.iter().map(|b| b.refs.len()).sum::<usize>(), n);
        }
    }

    #[test]
    fn plan_deduplicates_and_ignores_keys() {
        let batches = plan(&refs(&["/a", "/a", "/a#k", "/b#x", "/b#y"]), "us-east-1");
        assert_eq!(batches.len(), 1);
        let names = batches[0]
            .refs
            .iter()
            .map(Reference::request_name)
            .collect::<Vec<_>>();
        assert_eq!(names, ["/a", "/b"]);
    }

    #[test]
    fn plan_never_puts_two_forms_of_one_name_in_a_call() {
        let batches = plan(
            &refs(&[
                "/x/a",
                "/x/a:1",
                "/x/a:live",
                "/b",
                "a",
                "/aws/reference/secretsmanager/a",
            ]),
            "us-east-1",
        );
        // "/x/a" has 3 forms; "/b" and "b" are one parameter, and the secret
        // "a" shares its identity with the parameter "a".
        assert_eq!(batches.len(), 3);
        for batch in &batches {
            let mut identities: Vec<&str> = batch.refs.iter().map(Reference::identity).collect();
            let before = identities.len();
            identities.sort();
            identities.dedup();
            assert_eq!(identities.len(), before, "{batch:?}");
        }
        let total: usize = batches.iter().map(|b| b.refs.len()).sum();
        assert_eq!(total, 6);
        let five = plan(
            &refs(&[
                "/a",
                "a:1",
                "/a:2",
                "a:3",
                "/aws/reference/secretsmanager/a",
            ]),
            "r",
        );
        assert_eq!(five.len(), 5, "'/a' and 'a' are one parameter");
    }

    #[test]
    fn plan_groups_arns_by_region() {
        let batches = plan(
            &refs(&[
                "/local",
                "arn:aws:ssm:us-east-1:111122223333:parameter/same",
                "arn:aws:ssm:eu-west-1:111122223333:parameter/other",
            ]),
            "us-east-1",
        );
        let regions: Vec<Option<&str>> = batches.iter().map(|b| b.region.as_deref()).collect();
        assert_eq!(regions, [None, Some("eu-west-1")]);
        assert_eq!(batches[0].refs.len(), 2);
    }
}
