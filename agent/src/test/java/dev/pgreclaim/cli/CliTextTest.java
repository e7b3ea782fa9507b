package dev.pgreclaim.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The CLI's pure parts: table layout, JSON escaping, limit markers, argument parsing, attach arguments. */
class CliTextTest {

  @Test
  void tableIsAlignedLikePsql() {
    TextTable table = new TextTable(new String[] {"name", "pid"}, new boolean[] {false, true});
    table.add("a", "12345");
    table.add("longer\nname", "7");
    assertThat(table.render()).isEqualTo(
        "    name     |  pid\n"
            + "-------------+-------\n"
            + " a           | 12345\n"
            + " longer?name |     7\n"
            + "(2 rows)\n");
  }

  @Test
  void jsonEscapesQuotesBackslashesAndControlCharacters() {
    String json = new Json().beginObject().field("s", "a\"b\\c\nd\u0001").field("n", (Long) null)
        .field("b", true).beginArray("xs").beginObject().field("i", 1).endObject().endArray().endObject().toString();
    assertThat(json).isEqualTo("{\"s\":\"a\\\"b\\\\c\\nd\\u0001\",\"n\":null,\"b\":true,\"xs\":[{\"i\":1}]}");
  }

  @Test
  void rolesAtAndNearTheirLimitAreMarked() {
    assertThat(role(1, false, 1).marker()).isEqualTo("AT LIMIT");
    assertThat(role(5, false, 4).marker()).isEqualTo("near");
    assertThat(role(5, false, 3).marker()).isEmpty();
    assertThat(role(1, false, 0).marker()).isEmpty();
    assertThat(role(-1, false, 500).marker()).isEmpty();
    assertThat(role(0, false, 0).marker()).isEqualTo("AT LIMIT");
    assertThat(role(1, true, 3).marker()).isEqualTo("superuser: limit not enforced");
  }

  private static StatusCommand.RoleRow role(int limit, boolean superuser, int current) {
    return new StatusCommand.RoleRow("r", limit, superuser, current, 0, current, 0, 0);
  }

  @Test
  void argsAcceptBothFormsAndRejectUnknownOptions() throws Exception {
    Args args = Args.parse("reclaim", List.of("--role", "app", "--count=3", "--dry-run"),
        Set.of("--role", "--count"), Set.of("--dry-run"));
    assertThat(args.get("--role")).isEqualTo("app");
    assertThat(args.intValue("--count", 1, 1, 10)).isEqualTo(3);
    assertThat(args.flag("--dry-run")).isTrue();

    CliException unknown = assertThrows(CliException.class,
        () -> Args.parse("reclaim", List.of("--rol", "app"), Set.of("--role"), Set.of()));
    assertThat(unknown.exitCode()).isEqualTo(ExitCode.ERROR);
    assertThat(unknown.getMessage()).contains("unknown option --rol");
    assertThrows(CliException.class, () -> Args.parse("reclaim", List.of("--role"), Set.of("--role"), Set.of()));
    assertThrows(CliException.class, () -> Args.parse("reclaim", List.of("--count", "0"), Set.of("--count"),
        Set.of()).intValue("--count", 1, 1, 10));
  }

  @Test
  void victimRuleOptionsAreNamedAfterTheAgentProperties() {
    assertThat(AdminLogin.victimRuleOptions()).containsExactly("--min-idle", "--protect-application-names",
        "--protect-users", "--protect-databases");
  }

  @Test
  void attachArgumentsUseShortKeysAndAbsolutePasswordFiles() throws Exception {
    String args = AttachCommand.agentArguments(List.of("pgreclaim.mode=terminate", "min-idle=1s",
        "admin.password-file=relative.pw"));
    assertThat(args.split("\n")).hasSize(3);
    assertThat(args).startsWith("mode=terminate\nmin-idle=1s\nadmin.password-file=/");
    assertThat(args).endsWith("/relative.pw");
    assertThrows(CliException.class, () -> AttachCommand.agentArguments(List.of("protect.users=a;b")));
    assertThrows(CliException.class, () -> AttachCommand.agentArguments(List.of("admin.password=x")));
    assertThrows(CliException.class, () -> AttachCommand.agentArguments(List.of("nonsense")));
  }
}
