// Package ent holds paymux's persistence model: the schema in ent/schema and
// the code ent generates from it. Run scripts/generate after changing a
// schema; never edit the generated files.
package ent
