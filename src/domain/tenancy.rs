//! Who a user is and which tenants' data it may see.

use std::fmt;

/// The four kinds of portal user (agents authenticate separately, with a client token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the whole installation.
    Operator,
    /// Owns one reseller: everything an admin does, plus admins and the licence.
    ResellerOwner,
    /// Works for one reseller.
    ResellerAdmin,
    /// A customer's own web-portal user.
    Customer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::ResellerOwner, Role::ResellerAdmin, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::ResellerOwner => "reseller_owner",
            Role::ResellerAdmin => "reseller_admin",
            Role::Customer => "customer",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// How the role is named to a person.
    pub fn label(self) -> &'static str {
        match self {
            Role::Operator => "Operator",
            Role::ResellerOwner => "Reseller owner",
            Role::ResellerAdmin => "Reseller admin",
            Role::Customer => "Customer",
        }
    }

    /// The page a user lands on after logging in.
    pub fn home_path(self) -> &'static str {
        match self {
            Role::Customer => "/portal",
            _ => "/dashboard",
        }
    }

    pub fn is_reseller_staff(self) -> bool {
        matches!(self, Role::ResellerOwner | Role::ResellerAdmin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The tenant data a request may touch. The store layer filters by it and hands it to
/// PostgreSQL's row-level security; there is no path to tenant rows without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every reseller and customer.
    Operator,
    /// One reseller and its customers.
    Reseller { reseller_id: i64 },
    /// One customer.
    Customer { reseller_id: i64, customer_id: i64 },
}

impl Scope {
    /// The value of the `app.scope` setting the row-level-security policies read.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Operator => "operator",
            Scope::Reseller { .. } => "reseller",
            Scope::Customer { .. } => "customer",
        }
    }

    pub fn reseller_id(&self) -> Option<i64> {
        match self {
            Scope::Operator => None,
            Scope::Reseller { reseller_id } | Scope::Customer { reseller_id, .. } => Some(*reseller_id),
        }
    }

    pub fn customer_id(&self) -> Option<i64> {
        match self {
            Scope::Customer { customer_id, .. } => Some(*customer_id),
            _ => None,
        }
    }

    /// Whether a row owned by this reseller (and customer, if any) lies inside the scope.
    pub fn covers(&self, reseller_id: i64, customer_id: Option<i64>) -> bool {
        match self {
            Scope::Operator => true,
            Scope::Reseller { reseller_id: own } => *own == reseller_id,
            Scope::Customer {
                reseller_id: own_reseller,
                customer_id: own_customer,
            } => *own_reseller == reseller_id && customer_id == Some(*own_customer),
        }
    }
}

/// A scope with what a staff user's account adds to it: an admin its owner limited to chosen
/// customers sees only those, and a read-only admin changes nothing. The store layer carries both
/// into every transaction it opens (`store::scoped`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub scope: Scope,
    /// `Some`: only these customers of the scope's reseller (possibly none).
    pub customers: Option<Vec<i64>>,
    pub read_only: bool,
}

impl Access {
    pub fn may_see_customer(&self, customer_id: i64) -> bool {
        self.customers.as_ref().is_none_or(|ids| ids.contains(&customer_id))
    }

    /// The `app.customer_ids` setting the row-level-security policies read: an array literal, or
    /// empty for "not limited".
    pub fn customer_ids_setting(&self) -> String {
        match &self.customers {
            None => String::new(),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!("{{{}}}", list.join(","))
            }
        }
    }
}

impl From<Scope> for Access {
    fn from(scope: Scope) -> Self {
        Access {
            scope,
            customers: None,
            read_only: false,
        }
    }
}

impl From<&Scope> for Access {
    fn from(scope: &Scope) -> Self {
        Access::from(*scope)
    }
}

impl From<&Access> for Access {
    fn from(access: &Access) -> Self {
        access.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_stored_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
    }

    #[test]
    fn customers_land_on_the_portal_and_staff_on_the_dashboard() {
        assert_eq!(Role::Customer.home_path(), "/portal");
        assert_eq!(Role::Operator.home_path(), "/dashboard");
        assert_eq!(Role::ResellerAdmin.home_path(), "/dashboard");
    }

    #[test]
    fn a_reseller_scope_covers_its_own_customers_only() {
        let scope = Scope::Reseller { reseller_id: 7 };
        assert!(scope.covers(7, Some(1)));
        assert!(scope.covers(7, None));
        assert!(!scope.covers(8, Some(1)));
    }

    #[test]
    fn a_customer_scope_covers_only_that_customer() {
        let scope = Scope::Customer {
            reseller_id: 7,
            customer_id: 3,
        };
        assert!(scope.covers(7, Some(3)));
        assert!(!scope.covers(7, Some(4)));
        assert!(!scope.covers(7, None), "reseller-level rows are not a customer's");
        assert!(!scope.covers(8, Some(3)));
    }

    #[test]
    fn the_operator_scope_covers_everything() {
        assert!(Scope::Operator.covers(1, None));
        assert!(Scope::Operator.covers(99, Some(5)));
    }
    #[test]
    fn a_limited_access_names_its_customers_to_the_database() {
        let scope = Scope::Reseller { reseller_id: 7 };
        let mut access = Access::from(scope);
        assert_eq!(access.customer_ids_setting(), "");
        assert!(access.may_see_customer(42));
        access.customers = Some(vec![3, 5]);
        assert_eq!(access.customer_ids_setting(), "{3,5}");
        assert!(access.may_see_customer(5));
        assert!(!access.may_see_customer(42));
        access.customers = Some(Vec::new());
        assert_eq!(access.customer_ids_setting(), "{}", "limited to none is not unlimited");
    }
}
