//! Whether a customer may take one more client: its max clients first, then its MCALs (its own
//! allotment, or else its reseller's pool). The agent API and the pages apply the same rule.

use super::licensing::{McalRefusal, check_mcal};

/// Why a new client is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRefusal {
    /// The customer's max-clients limit is reached.
    MaxClients { max: i64 },
    /// No MCAL is left for it.
    Mcal(McalRefusal),
}

/// `clients` the customer has now; `max_clients` and `allotted` are its limits (`None`: no
/// limit / draws from the pool); `pool_free` is what its reseller's pool has left.
pub fn check_new_client(
    clients: i64,
    max_clients: Option<i64>,
    allotted: Option<i64>,
    pool_free: i64,
) -> Result<(), ClientRefusal> {
    if let Some(max) = max_clients
        && clients >= max
    {
        return Err(ClientRefusal::MaxClients { max });
    }
    check_mcal(allotted, clients, pool_free).map_err(ClientRefusal::Mcal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_clients_is_checked_at_its_boundary() {
        assert_eq!(
            check_new_client(4, Some(5), None, 10),
            Ok(()),
            "the last allowed client"
        );
        assert_eq!(
            check_new_client(5, Some(5), None, 10),
            Err(ClientRefusal::MaxClients { max: 5 })
        );
        assert_eq!(check_new_client(500, None, None, 10), Ok(()), "no limit");
    }

    #[test]
    fn max_clients_comes_before_the_mcals() {
        assert_eq!(
            check_new_client(3, Some(3), Some(3), 0),
            Err(ClientRefusal::MaxClients { max: 3 })
        );
    }

    #[test]
    fn an_allotment_or_else_the_pool_decides() {
        assert_eq!(
            check_new_client(2, Some(10), Some(2), 50),
            Err(ClientRefusal::Mcal(McalRefusal::AllotmentUsedUp))
        );
        assert_eq!(
            check_new_client(1, Some(10), Some(2), 0),
            Ok(()),
            "the allotment is the customer's own"
        );
        assert_eq!(
            check_new_client(1, None, None, 0),
            Err(ClientRefusal::Mcal(McalRefusal::PoolUsedUp))
        );
        assert_eq!(check_new_client(1, None, None, 1), Ok(()));
    }
}
