// Package schema is paymux's persistence model: one ent schema per table,
// each store-owned table with its store_id and the tenant package's privacy
// policy. The code in ent/ is generated from it (scripts/generate); changes
// only add tables, columns and indexes, so a populated database upgrades
// without loss.
package schema
