"""Code every Chikaya service needs: contracts, configuration, storage adapters, the outbox."""
