package dev.pgreclaim.reclaim;

import dev.pgreclaim.testkit.TestDatabase.Seed;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What an application role that owns its database can plant there against a privileged session (the CVE-2018-1058
 * class): look-alike functions, operators and views in {@code public}, with the argument types pgjdbc binds
 * ({@code setString} = varchar, {@code setInt} = int4, {@code setLong} = int8), and {@code public} put before
 * {@code pg_catalog} for every later login to the database. Each look-alike records its call in a marker table and
 * then does what the real one does, so a hijacked admin statement still "works" and only the marker tells.
 */
public final class PlantedObjects {
  private PlantedObjects() {}

  /** Plants everything as the seed's application role, in its own database. */
  public static void plant(Seed seed) throws SQLException {
    List<String> sql = new ArrayList<>();
    sql.add("create table public.pgr_marker (what text not null, by_role text not null)");
    sql.add("grant insert, select on public.pgr_marker to public");
    sql.add("create function public.pgr_mark(what text) returns boolean language plpgsql as $$ begin"
        + " insert into public.pgr_marker values (what, current_user); return true; end $$");
    function(sql, "hashtext(v varchar)", "int4", "hashtext(varchar)", "pg_catalog.hashtext(v::text)");
    function(sql, "hashtext(v text)", "int4", "hashtext(text)", "pg_catalog.hashtext(v)");
    function(sql, "set_config(n varchar, v varchar, l boolean)", "text", "set_config(varchar,varchar,bool)",
        "pg_catalog.set_config(n::text, v::text, l)");
    function(sql, "set_config(n text, v text, l boolean)", "text", "set_config(text,text,bool)",
        "pg_catalog.set_config(n, v, l)");
    sql.add("create function public.pg_advisory_lock(a int4, b int4) returns void language plpgsql as $$ begin"
        + " perform public.pgr_mark('pg_advisory_lock(int4,int4)'); perform pg_catalog.pg_advisory_lock(a, b);"
        + " end $$");
    function(sql, "pg_advisory_unlock(a int4, b int4)", "boolean", "pg_advisory_unlock(int4,int4)",
        "pg_catalog.pg_advisory_unlock(a, b)");
    function(sql, "pg_terminate_backend(p int4)", "boolean", "pg_terminate_backend(int4)",
        "pg_catalog.pg_terminate_backend(p)");
    function(sql, "pg_backend_pid()", "int4", "pg_backend_pid()", "pg_catalog.pg_backend_pid()");
    function(sql, "clock_timestamp()", "timestamptz", "clock_timestamp()", "pg_catalog.clock_timestamp()");
    function(sql, "now()", "timestamptz", "now()", "pg_catalog.now()");
    function(sql, "host(i inet)", "text", "host(inet)", "pg_catalog.host(i)");
    function(sql, "current_setting(n text)", "text", "current_setting(text)", "pg_catalog.current_setting(n)");
    function(sql, "current_setting(n varchar, m boolean)", "text", "current_setting(varchar,bool)",
        "pg_catalog.current_setting(n::text, m)");
    function(sql, "pg_has_role(r name, g text, m text)", "boolean", "pg_has_role(name,text,text)",
        "pg_catalog.pg_has_role(r, g, m)");
    function(sql, "pg_has_role(r name, g varchar, m varchar)", "boolean", "pg_has_role(name,varchar,varchar)",
        "pg_catalog.pg_has_role(r, g::text, m::text)");
    function(sql, "date_part(f text, i interval)", "float8", "date_part(text,interval)",
        "pg_catalog.date_part(f, i)");
    operator(sql, "=", "name", "varchar", "boolean", "pg_catalog.nameeqtext(l, r::text)");
    operator(sql, "=", "name", "text", "boolean", "pg_catalog.nameeqtext(l, r)");
    operator(sql, "=", "text", "text", "boolean", "pg_catalog.texteq(l, r)");
    operator(sql, "=", "text", "varchar", "boolean", "pg_catalog.texteq(l, r::text)");
    operator(sql, "=", "int4", "int4", "boolean", "pg_catalog.int4eq(l, r)");
    operator(sql, "=", "oid", "oid", "boolean", "pg_catalog.oideq(l, r)");
    operator(sql, "<>", "text", "text", "boolean", "pg_catalog.textne(l, r)");
    operator(sql, "<>", "int4", "int4", "boolean", "pg_catalog.int4ne(l, r)");
    operator(sql, "~~", "text", "text", "boolean", "pg_catalog.textlike(l, r)");
    operator(sql, "~~", "name", "text", "boolean", "pg_catalog.namelike(l, r)");
    operator(sql, "!~", "name", "text", "boolean", "pg_catalog.nameregexne(l, r)");
    operator(sql, "~*", "text", "text", "boolean", "pg_catalog.texticregexeq(l, r)");
    operator(sql, "<=", "timestamptz", "timestamptz", "boolean", "pg_catalog.timestamptz_le(l, r)");
    operator(sql, "<", "int8", "int8", "boolean", "pg_catalog.int8lt(l, r)");
    operator(sql, "-", "timestamptz", "timestamptz", "interval", "pg_catalog.timestamptz_mi(l, r)");
    operator(sql, "-", "int8", "int8", "int8", "pg_catalog.int8mi(l, r)");
    operator(sql, "*", "int8", "interval", "interval", "pg_catalog.mul_d_interval(l::float8, r)");
    operator(sql, "*", "float8", "float8", "float8", "pg_catalog.float8mul(l, r)");
    for (String view : List.of("pg_stat_activity", "pg_roles", "pg_locks", "pg_database")) {
      sql.add("create view public." + view + " as select * from pg_catalog." + view
          + " where public.pgr_mark('view " + view + "')");
      sql.add("grant select on public." + view + " to public");
    }
    // public before pg_catalog: even exact look-alikes of catalog signatures win for unqualified names
    sql.add("alter database " + seed.database() + " set search_path = public, pg_catalog");
    try (Connection owner = seed.connectAsRole(); Statement statement = owner.createStatement()) {
      for (String each : sql) {
        statement.execute(each);
      }
    }
  }

  private static void function(List<String> sql, String signature, String returns, String label, String body) {
    sql.add("create function public." + signature + " returns " + returns + " language plpgsql as $$ begin"
        + " perform public.pgr_mark('" + label + "'); return " + body + "; end $$");
  }

  private static void operator(List<String> sql, String op, String left, String right, String returns,
      String body) {
    String name = "public.pgr_op_" + Integer.toHexString((op + left + right).hashCode());
    sql.add("create function " + name + "(l " + left + ", r " + right + ") returns " + returns
        + " language plpgsql as $$ begin perform public.pgr_mark('operator " + op + "(" + left + "," + right
        + ")'); return " + body + "; end $$");
    sql.add("create operator public." + op + " (leftarg = " + left + ", rightarg = " + right + ", function = "
        + name + ")");
  }

  /** What ran: one line per call of a planted object, with the role that ran it; empty when nothing did. */
  public static List<String> calls(Seed seed) throws SQLException {
    List<String> calls = new ArrayList<>();
    try (Connection superuser = seed.server().connectAsSuperuser(seed.database());
        Statement statement = superuser.createStatement();
        ResultSet rows = statement.executeQuery("select what, by_role from public.pgr_marker")) {
      while (rows.next()) {
        calls.add(rows.getString(1) + " as " + rows.getString(2));
      }
    }
    return calls;
  }
}
