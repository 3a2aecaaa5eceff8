"""Community Safety Partnership data platform: statutory quarterly returns from police, fire
and rescue, local authority and health, checked, merged and turned into the partnership's
intelligence products. See DESIGN.md and README.md."""
