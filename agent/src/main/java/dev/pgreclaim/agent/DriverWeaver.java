package dev.pgreclaim.agent;

import net.bytebuddy.jar.asm.ClassReader;
import net.bytebuddy.jar.asm.ClassVisitor;
import net.bytebuddy.jar.asm.ClassWriter;
import net.bytebuddy.jar.asm.Label;
import net.bytebuddy.jar.asm.MethodVisitor;
import net.bytebuddy.jar.asm.Opcodes;

/**
 * Weaves {@code connect(String, Properties)} of one {@code org.postgresql.Driver} class file with Byte Buddy's
 * bundled ASM alone. The woven method behaves like this Java (no method is added, so it also works on
 * retransformation, when the agent is attached after the driver was loaded):
 *
 * <pre>
 * public Connection connect(String url, Properties info) throws SQLException {
 *     long start = System.nanoTime();
 *     Object[] round = null;
 *     while (true) {
 *         Connection result; Throwable thrown;
 *         try { result = &lt;original body&gt;; thrown = null; } catch (Throwable t) { result = null; thrown = t; }
 *         if (thrown == null &amp;&amp; round == null) return result; // the common case: one nanoTime, two null checks
 *         if (round == null) { round = new Object[3]; round[0] = Long.valueOf(start); }
 *         boolean retry;
 *         try { retry = ConnectBridge.onExit(this, url, info, thrown, round); }
 *         catch (Throwable bridgeFailure) { retry = false; }          // any agent failure: the original outcome
 *         if (retry) continue;                                        // re-run the original body
 *         if (thrown == null) return result;
 *         throw round[1] instanceof Throwable ? (Throwable) round[1] : thrown;  // the first refusal, as thrown
 *     }
 * }
 * </pre>
 *
 * <p>Why not Byte Buddy's {@code Advice} (which produced the same shape): measured on a 2-core machine, applying
 * {@code Advice} loaded ~830 Byte Buddy classes and cost ~320 ms of CPU when the driver loads (type pool, advice
 * parsing through reflection and annotation proxies), far over the start-up budget; this visitor loads a few dozen
 * ASM classes. The catch-all handler is registered after the method's own exception table, so the body's own
 * try/catch blocks keep precedence; the agent's locals live above the method's own, and every stack map frame of
 * the body is extended with them. The only class that knows Byte Buddy (its ASM).
 *
 * <p>For a driver whose class loader cannot see the agent jar (an isolated loader whose parent is the platform
 * loader, OSGi-style), the call to the bridge is made by reflection through the system class loader (where
 * {@code -javaagent:} and attach put the agent), so the woven class names no agent class at all. That lookup runs only
 * when an open failed or is being retried. Putting a copy of the bridge into the bootstrap loader instead would make
 * the JVM print "Sharing is only supported for boot loader classes because bootstrap classpath has been appended"
 * (measured on Java 17 and 25) and turn class-data sharing off for classes loaded afterwards.
 */
final class DriverWeaver {
    static final String DRIVER_NAME = "org.postgresql.Driver";
    private static final String CONNECT = "connect";
    private static final String CONNECT_ARGUMENTS = "(Ljava/lang/String;Ljava/util/Properties;)";
    private static final String BRIDGE = "dev/pgreclaim/agent/bridge/ConnectBridge";
    private static final String BRIDGE_NAME = "dev.pgreclaim.agent.bridge.ConnectBridge";
    private static final String BRIDGE_DESCRIPTOR = "(Ljava/lang/Object;Ljava/lang/String;Ljava/util/Properties;"
            + "Ljava/lang/Throwable;[Ljava/lang/Object;)Z";
    private static final String THROWABLE = "java/lang/Throwable";
    private static final String OBJECT_ARRAY = "[Ljava/lang/Object;";
    private static final int API = Opcodes.ASM9;

    private DriverWeaver() {
    }

    /** The woven class file, for a driver whose loader sees the agent jar. */
    static byte[] weave(ClassLoader loader, byte[] classfile) {
        return weave(loader, classfile, true);
    }

    /**
     * The woven class file; throws when {@code connect(String, Properties)} was not found.
     *
     * @param agentVisible whether the driver's loader sees the agent's classes; if not, the bridge is called by
     *                     reflection through the system class loader
     */
    static byte[] weave(ClassLoader loader, byte[] classfile, boolean agentVisible) {
        ClassReader reader = new ClassReader(classfile);
        MaxLocalsOfConnect scan = new MaxLocalsOfConnect();
        reader.accept(scan, ClassReader.SKIP_DEBUG | ClassReader.SKIP_FRAMES);
        if (scan.maxLocals < 0) {
            throw new IllegalStateException("connect(String, Properties) not found in " + DRIVER_NAME);
        }
        ClassWriter writer = new ClassWriter(reader, 0);
        ConnectWeavingVisitor weaving = new ConnectWeavingVisitor(writer, scan.maxLocals, agentVisible);
        reader.accept(weaving, ClassReader.EXPAND_FRAMES);
        if (!weaving.woven) {
            throw new IllegalStateException("connect(String, Properties) not woven in " + DRIVER_NAME);
        }
        return writer.toByteArray();
    }

    static boolean isConnect(int access, String name, String descriptor) {
        return CONNECT.equals(name) && descriptor.startsWith(CONNECT_ARGUMENTS)
                && descriptor.charAt(CONNECT_ARGUMENTS.length()) == 'L'
                && (access & (Opcodes.ACC_STATIC | Opcodes.ACC_ABSTRACT | Opcodes.ACC_NATIVE)) == 0;
    }

    /** First pass: the method's own local variable count, so the agent's locals go above it. */
    private static final class MaxLocalsOfConnect extends ClassVisitor {
        int maxLocals = -1;

        MaxLocalsOfConnect() {
            super(API);
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                String[] exceptions) {
            if (!isConnect(access, name, descriptor)) {
                return null;
            }
            return new MethodVisitor(API) {
                @Override
                public void visitMaxs(int maxStack, int locals) {
                    maxLocals = locals;
                }
            };
        }
    }

    private static final class ConnectWeavingVisitor extends ClassVisitor {
        private final int maxLocals;
        private final boolean agentVisible;
        private String owner;
        private boolean frames;
        boolean woven;

        ConnectWeavingVisitor(ClassVisitor next, int maxLocals, boolean agentVisible) {
            super(API, next);
            this.maxLocals = maxLocals;
            this.agentVisible = agentVisible;
        }

        @Override
        public void visit(int version, int access, String name, String signature, String superName,
                String[] interfaces) {
            owner = name;
            // stack map frames exist from class file version 50 (Java 6); the low 16 bits are the major version
            frames = (version & 0xFFFF) >= Opcodes.V1_6;
            super.visit(version, access, name, signature, superName, interfaces);
        }

        @Override
        public MethodVisitor visitMethod(int access, String name, String descriptor, String signature,
                String[] exceptions) {
            MethodVisitor next = super.visitMethod(access, name, descriptor, signature, exceptions);
            if (next == null || woven || !isConnect(access, name, descriptor)) {
                return next;
            }
            woven = true;
            String returnType = descriptor.substring(descriptor.indexOf(')') + 2, descriptor.length() - 1);
            return new ConnectMethodVisitor(next, owner, returnType, maxLocals, frames, agentVisible);
        }
    }

    /** Rewrites the body of {@code connect}; see the class comment for the Java it amounts to. */
    private static final class ConnectMethodVisitor extends MethodVisitor {
        private final String owner;
        private final String returnType;
        private final boolean frames;
        private final boolean agentVisible;
        private final int startSlot;
        private final int roundSlot;
        private final int resultSlot;
        private final int thrownSlot;
        private final Label repeat = new Label();
        private final Label bodyStart = new Label();
        private final Label bodyEnd = new Label();
        private final Label bodyHandler = new Label();
        private final Label exit = new Label();
        private boolean prologueDone;

        ConnectMethodVisitor(MethodVisitor next, String owner, String returnType, int maxLocals, boolean frames,
                boolean agentVisible) {
            super(API, next);
            this.owner = owner;
            this.returnType = returnType;
            this.frames = frames;
            this.agentVisible = agentVisible;
            this.startSlot = maxLocals;
            this.roundSlot = maxLocals + 2;
            this.resultSlot = maxLocals + 3;
            this.thrownSlot = maxLocals + 4;
        }

        /**
         * Called before the first instruction, label or frame of the body: the reader has visited the method's
         * own exception table by then, so the catch-all handler registered here comes after it.
         */
        private void prologue() {
            if (prologueDone) {
                return;
            }
            prologueDone = true;
            super.visitTryCatchBlock(bodyStart, bodyEnd, bodyHandler, THROWABLE);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/System", "nanoTime", "()J", false);
            super.visitVarInsn(Opcodes.LSTORE, startSlot);
            super.visitInsn(Opcodes.ACONST_NULL);
            super.visitVarInsn(Opcodes.ASTORE, roundSlot);
            super.visitLabel(repeat);
            frame(false, null);
            // keeps this frame and a frame the body may have at its first instruction at different offsets
            super.visitInsn(Opcodes.NOP);
            super.visitLabel(bodyStart);
        }

        /** A frame at the agent's own code: the arguments, the agent's locals, optionally one thrown on the stack. */
        private void frame(boolean withOutcome, String stackTop) {
            if (!frames) {
                return;
            }
            Object[] locals = new Object[maxLocalsElements(withOutcome)];
            int i = 0;
            locals[i++] = owner;
            locals[i++] = "java/lang/String";
            locals[i++] = "java/util/Properties";
            for (int slot = 3; slot < startSlot; slot++) {
                locals[i++] = Opcodes.TOP;
            }
            locals[i++] = Opcodes.LONG;
            locals[i++] = OBJECT_ARRAY;
            if (withOutcome) {
                locals[i++] = returnType;
                locals[i++] = THROWABLE;
            }
            if (stackTop == null) {
                super.visitFrame(Opcodes.F_NEW, locals.length, locals, 0, new Object[0]);
            } else {
                super.visitFrame(Opcodes.F_NEW, locals.length, locals, 1, new Object[] {stackTop});
            }
        }

        private int maxLocalsElements(boolean withOutcome) {
            return 3 + Math.max(0, startSlot - 3) + 2 + (withOutcome ? 2 : 0);
        }

        @Override
        public void visitFrame(int type, int numLocal, Object[] local, int numStack, Object[] stack) {
            prologue();
            // The body's frames (expanded) gain the agent's start and round locals above the method's own.
            int slots = 0;
            for (int i = 0; i < numLocal; i++) {
                slots += local[i] == Opcodes.LONG || local[i] == Opcodes.DOUBLE ? 2 : 1;
            }
            int padding = Math.max(0, startSlot - slots);
            Object[] extended = new Object[numLocal + padding + 2];
            System.arraycopy(local, 0, extended, 0, numLocal);
            for (int i = 0; i < padding; i++) {
                extended[numLocal + i] = Opcodes.TOP;
            }
            extended[numLocal + padding] = Opcodes.LONG;
            extended[numLocal + padding + 1] = OBJECT_ARRAY;
            super.visitFrame(type, extended.length, extended, numStack, stack);
        }

        @Override
        public void visitLabel(Label label) {
            prologue();
            super.visitLabel(label);
        }

        @Override
        public void visitInsn(int opcode) {
            prologue();
            if (opcode == Opcodes.ARETURN) {
                super.visitVarInsn(Opcodes.ASTORE, resultSlot);
                super.visitInsn(Opcodes.ACONST_NULL);
                super.visitVarInsn(Opcodes.ASTORE, thrownSlot);
                super.visitJumpInsn(Opcodes.GOTO, exit);
                return;
            }
            super.visitInsn(opcode);
        }

        @Override
        public void visitIntInsn(int opcode, int operand) {
            prologue();
            super.visitIntInsn(opcode, operand);
        }

        @Override
        public void visitVarInsn(int opcode, int varIndex) {
            prologue();
            super.visitVarInsn(opcode, varIndex);
        }

        @Override
        public void visitTypeInsn(int opcode, String type) {
            prologue();
            super.visitTypeInsn(opcode, type);
        }

        @Override
        public void visitFieldInsn(int opcode, String fieldOwner, String name, String descriptor) {
            prologue();
            super.visitFieldInsn(opcode, fieldOwner, name, descriptor);
        }

        @Override
        public void visitMethodInsn(int opcode, String methodOwner, String name, String descriptor,
                boolean isInterface) {
            prologue();
            super.visitMethodInsn(opcode, methodOwner, name, descriptor, isInterface);
        }

        @Override
        public void visitInvokeDynamicInsn(String name, String descriptor, net.bytebuddy.jar.asm.Handle bootstrap,
                Object... bootstrapArguments) {
            prologue();
            super.visitInvokeDynamicInsn(name, descriptor, bootstrap, bootstrapArguments);
        }

        @Override
        public void visitJumpInsn(int opcode, Label label) {
            prologue();
            super.visitJumpInsn(opcode, label);
        }

        @Override
        public void visitLdcInsn(Object value) {
            prologue();
            super.visitLdcInsn(value);
        }

        @Override
        public void visitIincInsn(int varIndex, int increment) {
            prologue();
            super.visitIincInsn(varIndex, increment);
        }

        @Override
        public void visitTableSwitchInsn(int min, int max, Label dflt, Label... labels) {
            prologue();
            super.visitTableSwitchInsn(min, max, dflt, labels);
        }

        @Override
        public void visitLookupSwitchInsn(Label dflt, int[] keys, Label[] labels) {
            prologue();
            super.visitLookupSwitchInsn(dflt, keys, labels);
        }

        @Override
        public void visitMultiANewArrayInsn(String descriptor, int numDimensions) {
            prologue();
            super.visitMultiANewArrayInsn(descriptor, numDimensions);
        }

        @Override
        public void visitLineNumber(int line, Label start) {
            prologue();
            super.visitLineNumber(line, start);
        }

        @Override
        public void visitMaxs(int maxStack, int maxLocals) {
            prologue();
            Label slow = new Label();
            Label haveRound = new Label();
            Label callStart = new Label();
            Label callEnd = new Label();
            Label suppress = new Label();
            Label done = new Label();
            Label fail = new Label();
            Label throwThrown = new Label();
            super.visitLabel(bodyEnd);
            // catch (Throwable t) { result = null; thrown = t; }
            super.visitLabel(bodyHandler);
            frame(false, THROWABLE);
            super.visitVarInsn(Opcodes.ASTORE, thrownSlot);
            super.visitInsn(Opcodes.ACONST_NULL);
            super.visitVarInsn(Opcodes.ASTORE, resultSlot);
            // if (thrown == null && round == null) return result;
            super.visitLabel(exit);
            frame(true, null);
            super.visitVarInsn(Opcodes.ALOAD, thrownSlot);
            super.visitJumpInsn(Opcodes.IFNONNULL, slow);
            super.visitVarInsn(Opcodes.ALOAD, roundSlot);
            super.visitJumpInsn(Opcodes.IFNONNULL, slow);
            super.visitVarInsn(Opcodes.ALOAD, resultSlot);
            super.visitInsn(Opcodes.ARETURN);
            // if (round == null) { round = new Object[3]; round[0] = Long.valueOf(start); }
            super.visitLabel(slow);
            frame(true, null);
            super.visitVarInsn(Opcodes.ALOAD, roundSlot);
            super.visitJumpInsn(Opcodes.IFNONNULL, haveRound);
            super.visitInsn(Opcodes.ICONST_3);
            super.visitTypeInsn(Opcodes.ANEWARRAY, "java/lang/Object");
            super.visitVarInsn(Opcodes.ASTORE, roundSlot);
            super.visitVarInsn(Opcodes.ALOAD, roundSlot);
            super.visitInsn(Opcodes.ICONST_0);
            super.visitVarInsn(Opcodes.LLOAD, startSlot);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/Long", "valueOf", "(J)Ljava/lang/Long;", false);
            super.visitInsn(Opcodes.AASTORE);
            // if (ConnectBridge.onExit(this, url, info, thrown, round)) continue;  (a throw counts as false)
            super.visitLabel(haveRound);
            frame(true, null);
            super.visitLabel(callStart);
            if (agentVisible) {
                super.visitVarInsn(Opcodes.ALOAD, 0);
                super.visitVarInsn(Opcodes.ALOAD, 1);
                super.visitVarInsn(Opcodes.ALOAD, 2);
                super.visitVarInsn(Opcodes.ALOAD, thrownSlot);
                super.visitVarInsn(Opcodes.ALOAD, roundSlot);
                super.visitMethodInsn(Opcodes.INVOKESTATIC, BRIDGE, "onExit", BRIDGE_DESCRIPTOR, false);
            } else {
                reflectiveBridgeCall();
            }
            super.visitLabel(callEnd);
            super.visitJumpInsn(Opcodes.IFEQ, done);
            super.visitJumpInsn(Opcodes.GOTO, repeat);
            super.visitLabel(suppress);
            frame(true, THROWABLE);
            super.visitInsn(Opcodes.POP);
            // if (thrown == null) return result;
            super.visitLabel(done);
            frame(true, null);
            super.visitVarInsn(Opcodes.ALOAD, thrownSlot);
            super.visitJumpInsn(Opcodes.IFNONNULL, fail);
            super.visitVarInsn(Opcodes.ALOAD, resultSlot);
            super.visitInsn(Opcodes.ARETURN);
            // throw round[1] instanceof Throwable ? (Throwable) round[1] : thrown;
            super.visitLabel(fail);
            frame(true, null);
            super.visitVarInsn(Opcodes.ALOAD, roundSlot);
            super.visitInsn(Opcodes.ICONST_1);
            super.visitInsn(Opcodes.AALOAD);
            super.visitTypeInsn(Opcodes.INSTANCEOF, THROWABLE);
            super.visitJumpInsn(Opcodes.IFEQ, throwThrown);
            super.visitVarInsn(Opcodes.ALOAD, roundSlot);
            super.visitInsn(Opcodes.ICONST_1);
            super.visitInsn(Opcodes.AALOAD);
            super.visitTypeInsn(Opcodes.CHECKCAST, THROWABLE);
            super.visitInsn(Opcodes.ATHROW);
            super.visitLabel(throwThrown);
            frame(true, null);
            super.visitVarInsn(Opcodes.ALOAD, thrownSlot);
            super.visitInsn(Opcodes.ATHROW);
            super.visitTryCatchBlock(callStart, callEnd, suppress, THROWABLE);
            super.visitMaxs(Math.max(maxStack, 7), startSlot + 5);
        }

        /**
         * {@code Boolean.TRUE.equals(Class.forName(BRIDGE, true, ClassLoader.getSystemClassLoader())
         * .getMethod("onExit", Object.class, String.class, Properties.class, Throwable.class, Object[].class)
         * .invoke(null, new Object[] {this, url, info, thrown, round}))}, leaving an int on the stack.
         */
        private void reflectiveBridgeCall() {
            super.visitLdcInsn(BRIDGE_NAME);
            super.visitInsn(Opcodes.ICONST_1);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/ClassLoader", "getSystemClassLoader",
                    "()Ljava/lang/ClassLoader;", false);
            super.visitMethodInsn(Opcodes.INVOKESTATIC, "java/lang/Class", "forName",
                    "(Ljava/lang/String;ZLjava/lang/ClassLoader;)Ljava/lang/Class;", false);
            super.visitLdcInsn("onExit");
            String[] parameterTypes = {"java/lang/Object", "java/lang/String", "java/util/Properties", THROWABLE,
                OBJECT_ARRAY};
            pushArrayLength(parameterTypes.length);
            super.visitTypeInsn(Opcodes.ANEWARRAY, "java/lang/Class");
            for (int i = 0; i < parameterTypes.length; i++) {
                super.visitInsn(Opcodes.DUP);
                pushArrayLength(i);
                super.visitLdcInsn(net.bytebuddy.jar.asm.Type.getObjectType(parameterTypes[i]));
                super.visitInsn(Opcodes.AASTORE);
            }
            super.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/lang/Class", "getMethod",
                    "(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;", false);
            super.visitInsn(Opcodes.ACONST_NULL);
            int[] argumentSlots = {0, 1, 2, thrownSlot, roundSlot};
            pushArrayLength(argumentSlots.length);
            super.visitTypeInsn(Opcodes.ANEWARRAY, "java/lang/Object");
            for (int i = 0; i < argumentSlots.length; i++) {
                super.visitInsn(Opcodes.DUP);
                pushArrayLength(i);
                super.visitVarInsn(Opcodes.ALOAD, argumentSlots[i]);
                super.visitInsn(Opcodes.AASTORE);
            }
            super.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/lang/reflect/Method", "invoke",
                    "(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;", false);
            super.visitFieldInsn(Opcodes.GETSTATIC, "java/lang/Boolean", "TRUE", "Ljava/lang/Boolean;");
            super.visitInsn(Opcodes.SWAP);
            super.visitMethodInsn(Opcodes.INVOKEVIRTUAL, "java/lang/Boolean", "equals", "(Ljava/lang/Object;)Z",
                    false);
        }

        private void pushArrayLength(int value) {
            super.visitInsn(Opcodes.ICONST_0 + value);
        }
    }
}
