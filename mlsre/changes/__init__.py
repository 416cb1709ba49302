"""What changed before an incident: change sources (registry, lineage, git, metrics, the team's
change log), a change-point of the failing signal, and a ranking that explains itself."""
