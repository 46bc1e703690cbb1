import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import de.bwaldvogel.mongo.wire.message.MongoQuery;
import io.netty.channel.Channel;

/**
 * mongo-java-server (memory backend, oplog on) dressed as a single-node replica set for the
 * oplog tests (test/support/mongo-java-server.ts). Test-only shims, each because the library
 * lacks it:
 * - `maxWireVersion` 13: the library reports 8, which Node driver 7 refuses (it needs 9);
 * - `hello` answered as `isMaster`, with `setName`, `hosts`, `primary` (the library has no
 *   replica-set notion, but it does keep `local.oplog.rs`);
 * - `applyOps`, which mongorestore --oplogReplay sends: each entry carried out through the
 *   library's own insert/update/delete/create/drop commands (`$set`/`$unset` or replacement
 *   updates only: the library writes no `$v: 2` diffs).
 * Prints `listening <port>` once bound (port 0 picks a free one).
 */
public class OplogServer {
  static final String SET_NAME = "rs0";
  /** `127.0.0.1:<port>` once bound: the set's one member, as `hello.hosts` lists it. */
  static volatile String self = "";

  public static void main(String[] args) throws Exception {
    MemoryBackend backend = new MemoryBackend() {
      // One request at a time: mongorestore writes several collections over parallel
      // connections, and one test run hung once (not reproduced since) in a restore against
      // the library's memory backend; a test server has no need for concurrency.
      @Override
      public synchronized Document handleMessage(MongoMessage message) {
        return super.handleMessage(message);
      }

      @Override
      public synchronized QueryResult handleQuery(MongoQuery query) {
        return super.handleQuery(query);
      }

      @Override
      public synchronized Document handleCommand(Channel channel, String database, String command, Document query) {
        if (command.equalsIgnoreCase("hello") || command.equalsIgnoreCase("isMaster")) {
          Document reply = super.handleCommand(channel, database, "isMaster", query);
          reply.put("maxWireVersion", 13);
          reply.put("isWritablePrimary", true);
          reply.put("setName", SET_NAME);
          // mongodump --oplog looks for `hosts` to find the oplog in local.oplog.rs.
          reply.put("hosts", List.of(self));
          reply.put("primary", self);
          reply.put("me", self);
          return reply;
        }
        if (command.equals("applyOps")) return applyOps(this, channel, query);
        return super.handleCommand(channel, database, command, query);
      }
    };
    backend.enableOplog();
    MongoServer server = new MongoServer(backend);
    server.bind("127.0.0.1", Integer.parseInt(args[0]));
    self = "127.0.0.1:" + server.getLocalAddress().getPort();
    System.out.println("listening " + server.getLocalAddress().getPort());
    System.out.flush();
    Thread.currentThread().join();
  }

  @SuppressWarnings("unchecked")
  static Document applyOps(MemoryBackend backend, Channel channel, Document query) {
    List<Object> ops = (List<Object>) query.get("applyOps");
    List<Object> results = new ArrayList<>();
    for (Object item : ops) {
      apply(backend, channel, (Document) item);
      results.add(true);
    }
    Document reply = new Document("applied", ops.size());
    reply.put("results", results);
    reply.put("ok", 1.0);
    return reply;
  }

  @SuppressWarnings("unchecked")
  static void apply(MemoryBackend backend, Channel channel, Document op) {
    String kind = (String) op.get("op");
    String ns = (String) op.get("ns");
    int dot = ns.indexOf('.');
    String db = ns.substring(0, dot);
    String collection = ns.substring(dot + 1);
    Document o = (Document) op.get("o");
    Document command;
    switch (kind) {
      case "n":
        return;
      case "i":
        command = new Document("insert", collection).append("documents", List.of(o));
        break;
      case "u":
        boolean operators = o.keySet().stream().anyMatch(k -> k.startsWith("$"));
        if (operators && !o.keySet().stream().allMatch(k -> k.equals("$set") || k.equals("$unset"))) {
          throw new MongoServerError(2, "OplogServer applies only $set/$unset or replacement updates, got " + o.keySet());
        }
        command = new Document("update", collection).append("updates", List.of(new Document("q", op.get("o2")).append("u", o)));
        break;
      case "d":
        command = new Document("delete", collection).append("deletes", List.of(new Document("q", o).append("limit", 1)));
        break;
      case "c":
        if (o.containsKey("applyOps")) {
          for (Object nested : (List<Object>) o.get("applyOps")) apply(backend, channel, (Document) nested);
          return;
        }
        String name = o.keySet().iterator().next();
        if (!name.equals("create") && !name.equals("drop")) throw new MongoServerError(2, "OplogServer does not apply command " + name);
        command = new Document(name, o.get(name));
        break;
      default:
        throw new MongoServerError(2, "OplogServer does not apply op " + kind);
    }
    Document reply = backend.handleCommand(channel, db, command.keySet().iterator().next(), command);
    Object errors = reply.get("writeErrors");
    if (errors instanceof List && !((List<Object>) errors).isEmpty()) throw new MongoServerError(2, "applyOps entry failed: " + errors);
  }
}
