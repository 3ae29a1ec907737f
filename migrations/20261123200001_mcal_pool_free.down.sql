DROP FUNCTION IF EXISTS reseller_mcal_pool_free(bigint);
