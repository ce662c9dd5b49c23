"""The social registry: locations, individuals, households, membership, identity documents, custom
fields (registry schemas), saved searches, the expression language.

Owns `LocationLevel`, `Location`, `Individual`, `IdentityDocument`, `Household`, `HouseholdMember`,
`RegistrySchema` and `SavedSearch`: every write to them, one at a time or in bulk, goes through its
services. The apps above plug their filters and a person's page into it through `registry.hooks`.

May import: access, files, jobs, identity, approvals, notifications.
"""
