DROP TABLE IF EXISTS reseller_figures;
