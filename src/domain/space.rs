//! Space allotments down the tree (server → reseller → customer → client): what the children of a
//! level are given together may not exceed what the level itself is given. `None` is "no limit".

/// Why an allotment is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceRefusal {
    /// The children together would get more than the parent has: `free` is what is left.
    ExceedsParent { free: i64 },
    /// The level would get less than its children already have between them.
    BelowChildren { allotted_to_children: i64 },
}

/// A child's new allotment `new`, beside its siblings' `siblings_total`, under `parent`.
/// An unlimited child (`None`) takes nothing from its parent's allotment.
pub fn check_child(parent: Option<i64>, siblings_total: i64, new: Option<i64>) -> Result<(), SpaceRefusal> {
    match (parent, new) {
        (Some(parent), Some(new)) if siblings_total + new > parent => Err(SpaceRefusal::ExceedsParent {
            free: (parent - siblings_total).max(0),
        }),
        _ => Ok(()),
    }
}

/// A level's new allotment `new` over what its children already hold between them.
pub fn check_parent(new: Option<i64>, children_total: i64) -> Result<(), SpaceRefusal> {
    match new {
        Some(new) if new < children_total => Err(SpaceRefusal::BelowChildren {
            allotted_to_children: children_total,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_may_take_up_to_all_of_the_parent_but_no_more() {
        assert_eq!(check_child(Some(100), 60, Some(40)), Ok(()));
        assert_eq!(
            check_child(Some(100), 60, Some(41)),
            Err(SpaceRefusal::ExceedsParent { free: 40 })
        );
        assert_eq!(
            check_child(Some(100), 120, Some(1)),
            Err(SpaceRefusal::ExceedsParent { free: 0 })
        );
        assert_eq!(check_child(None, 1_000, Some(1_000)), Ok(()), "an unlimited parent");
        assert_eq!(
            check_child(Some(100), 100, None),
            Ok(()),
            "an unlimited child takes nothing"
        );
    }

    #[test]
    fn a_parent_cannot_shrink_below_what_its_children_hold() {
        assert_eq!(check_parent(Some(100), 100), Ok(()));
        assert_eq!(
            check_parent(Some(99), 100),
            Err(SpaceRefusal::BelowChildren {
                allotted_to_children: 100
            })
        );
        assert_eq!(check_parent(None, 100), Ok(()));
    }
}
