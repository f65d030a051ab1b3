-- CreateTable
CREATE TABLE "conversation" (
    "id" SERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "platformIds" JSONB NOT NULL DEFAULT '{}',
    "chatFormat" TEXT NOT NULL,
    "sampling" JSONB NOT NULL DEFAULT '{}',
    "persona" TEXT,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "logLength" INTEGER NOT NULL DEFAULT 0,
    "tokenCount" INTEGER NOT NULL DEFAULT 0,
    "leaseOwner" TEXT,
    "leaseExpiresAt" TIMESTAMPTZ(3),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "conversation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "turn" (
    "id" BIGSERIAL NOT NULL,
    "conversationId" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "seq" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "tokens" INTEGER[],
    "appendId" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "turn_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "checkpoint" (
    "id" BIGSERIAL NOT NULL,
    "conversationId" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "logSeq" INTEGER NOT NULL,
    "tokenCount" INTEGER NOT NULL,
    "modelId" TEXT NOT NULL,
    "codecVersion" INTEGER NOT NULL,
    "dtype" TEXT NOT NULL,
    "byteLength" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "state" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "conversation_key_key" ON "conversation"("key");

-- CreateIndex
CREATE UNIQUE INDEX "turn_appendId_key" ON "turn"("appendId");

-- CreateIndex
CREATE UNIQUE INDEX "turn_conversationId_epoch_seq_key" ON "turn"("conversationId", "epoch", "seq");

-- CreateIndex
CREATE INDEX "checkpoint_conversationId_epoch_logSeq_idx" ON "checkpoint"("conversationId", "epoch", "logSeq");

-- AddForeignKey
ALTER TABLE "turn" ADD CONSTRAINT "turn_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "checkpoint" ADD CONSTRAINT "checkpoint_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Float state does not compress: skip TOAST's compression attempt (hand-written; no lz4, PGlite lacks it).
ALTER TABLE "checkpoint" ALTER COLUMN "state" SET STORAGE EXTERNAL;
