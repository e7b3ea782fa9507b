package dev.pgreclaim.policy;

import static dev.pgreclaim.policy.AdminUrlCheckTest.SECRET;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Driver messages that repeat a URL come out without anything that could be a secret, and still say where. */
class SafeTextTest {

  @ParameterizedTest
  @MethodSource("dev.pgreclaim.policy.AdminUrlCheckTest#secretForms")
  void everySecretFormIsScrubbedFromADriverMessage(String url) {
    for (String message : new String[] {"Unable to parse URL " + url, "Unable to parse URL " + url + " (08001)",
        "first line\nUnable to parse URL " + url + "\nnext line", "url [" + url + "] parsing failed"}) {
      String scrubbed = SafeText.scrubUrls(message);
      assertThat(scrubbed).as(message).doesNotContain(SECRET).doesNotContain("admin:")
          .doesNotContain(SECRET.substring(2, 8));
    }
  }

  @Test
  void whatIsNotSecretIsKept() {
    assertThat(SafeText.scrubUrls("Unable to parse URL jdbc:postgresql://db.example:5432/app?password=" + SECRET))
        .isEqualTo("Unable to parse URL jdbc:postgresql://db.example:5432/app?...");
    assertThat(SafeText.scrubUrls("cannot reach jdbc:postgresql://h1:5432,admin:" + SECRET + "@h2:5433/app now"))
        .isEqualTo("cannot reach jdbc:postgresql://***@h2:5433/app now");
    assertThat(SafeText.scrubUrls("to jdbc:postgresql://[::1]:5432/postgres (SQLState 08001): refused"))
        .isEqualTo("to jdbc:postgresql://[::1]:5432/postgres (SQLState 08001): refused");
    assertThat(SafeText.scrubUrls("jdbc:postgresql://h:5432 refused"))
        .isEqualTo("jdbc:postgresql://h:5432 refused");
    assertThat(SafeText.scrubUrls("bad jdbc:postgresql://admin:" + SECRET + "/db"))
        .isEqualTo("bad jdbc:postgresql://***/db");
    assertThat(SafeText.scrubUrls("jdbc:pgreclaim:postgresql://a:" + SECRET + "@h/db;x=1\nnext"))
        .isEqualTo("jdbc:pgreclaim:postgresql://***@h/db?...\nnext");
    assertThat(SafeText.scrubUrls("a password with spaces: jdbc:postgresql://h/db?password=a " + SECRET))
        .doesNotContain(SECRET);
    assertThat(SafeText.scrubUrls("user info with spaces: jdbc:postgresql://adm:a " + SECRET + "@h/db"))
        .doesNotContain(SECRET);
    assertThat(SafeText.scrubUrls("no url here")).isEqualTo("no url here");
    assertThat(SafeText.scrubUrls(null)).isNull();
  }
}
