package dev.pgreclaim.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A test (class or method) that needs PostgreSQL: {@link PostgresServer} parameters get the shared server. Without
 * a server the test is skipped, or fails under CI ({@link PostgresServers#requireServer()}).
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(PostgresExtension.class)
@Tag("db")
@Timeout(value = 5, unit = TimeUnit.MINUTES) // every test that waits on the server ends; a class may set less

public @interface PostgresTest {}
