// Starts one OpenSearch node in this JVM for the OpenSearch sink tests: single-node discovery,
// HTTP on a loopback port, no security plugin (none is on the classpath), data and logs under the
// directory given. It is what the distribution's launcher does, minus the bootstrap checks and
// the plugin directory: the netty4 network module is handed to the node as a classpath plugin.
//
//   java -cp 'target/classes:LIB/*' dev.sluice.opensearch.SingleNode HOME_DIR HTTP_PORT TRANSPORT_PORT
package dev.sluice.opensearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class SingleNode {
  /** Node's constructor that takes classpath plugins is protected. */
  private static final class NodeWithClasspathPlugins extends Node {
    NodeWithClasspathPlugins(Environment environment, Collection<Class<? extends Plugin>> plugins) {
      super(environment, plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: SingleNode HOME_DIR HTTP_PORT TRANSPORT_PORT");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath();
    Files.createDirectories(home.resolve("data"));
    Files.createDirectories(home.resolve("logs"));
    Files.createDirectories(home.resolve("config"));
    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("cluster.name", "sluice-test")
        .put("node.name", "sluice-test-node")
        .put("discovery.type", "single-node")
        .put("network.host", "127.0.0.1")
        .put("http.port", args[1])
        .put("transport.port", args[2])
        .put("http.type", "netty4")
        .put("transport.type", "netty4")
        // A test machine's disk may be fuller than the default watermarks allow.
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .build();
    Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> "sluice-test-node");
    Node node = new NodeWithClasspathPlugins(environment, List.of(Netty4Plugin.class));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
    }, "sluice-opensearch-shutdown"));
    node.start();
    System.out.println("OpenSearch node started: http://127.0.0.1:" + args[1]);
    // The node's threads are daemons: this thread keeps the JVM up until SIGTERM runs the hook.
    new CountDownLatch(1).await();
  }
}
