package dev.pgreclaim.reclaim;

/**
 * Where victims may come from for one refusal: always the refused role's own sessions (the agent never ends another
 * role's session), narrowed to one database when the database limit was hit.
 */
public final class VictimScope {
    private final String role;
    private final String database;

    private VictimScope(String role, String database) {
        this.role = role;
        this.database = database;
    }

    /** The role's sessions in every database. */
    public static VictimScope role(String role) {
        return new VictimScope(role, null);
    }

    /** The role's sessions in one database. */
    public static VictimScope roleInDatabase(String role, String database) {
        return new VictimScope(role, database);
    }

    public String role() {
        return role;
    }

    /** The database victims must be in, or null for any. */
    public String database() {
        return database;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof VictimScope)) {
            return false;
        }
        VictimScope that = (VictimScope) other;
        return role.equals(that.role) && (database == null ? that.database == null : database.equals(that.database));
    }

    @Override
    public int hashCode() {
        return role.hashCode() * 31 + (database == null ? 0 : database.hashCode());
    }

    @Override
    public String toString() {
        return "role " + role + (database == null ? "" : " in database " + database);
    }
}
